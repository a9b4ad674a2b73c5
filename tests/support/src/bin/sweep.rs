//! `make sweep`: removes what harness runs that no longer exist left behind
//! (after kill -9, an OOM kill or a power cut), one line per thing removed.
//! Runs that are still alive, and anything no run recorded, are untouched.

fn main() {
    let lines = test_support::teardown::sweep();
    if lines.is_empty() {
        println!(
            "sweep: nothing left by earlier runs (records in {})",
            test_support::teardown::state_dir().display()
        );
    }
    for line in lines {
        println!("{line}");
    }
}
