//! Summaries of repeated measurements.

use serde::{Deserialize, Serialize};

/// Median with the extremes, for figures measured a few times.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

/// Percentiles of a sampled latency, in microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p99_us: f64,
    pub min_us: f64,
    pub max_us: f64,
    pub n: usize,
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summary(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let v = sorted(values);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

pub fn latency(values_us: &[f64]) -> Option<Latency> {
    if values_us.is_empty() {
        return None;
    }
    let v = sorted(values_us);
    Some(Latency {
        p50_us: percentile(&v, 50.0),
        p99_us: percentile(&v, 99.0),
        min_us: v[0],
        max_us: v[v.len() - 1],
        n: v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        let s = summary(&[3.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.5, 1.0, 10.0, 4));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = latency(&v).unwrap();
        assert_eq!(
            (l.p50_us, l.p99_us, l.min_us, l.max_us),
            (50.0, 99.0, 1.0, 100.0)
        );
        assert!(summary(&[]).is_none());
    }
}
