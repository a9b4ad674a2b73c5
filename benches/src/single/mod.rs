//! The figures of one process per peer, each peer as PID 1 of its own PID
//! namespace: sizes, instructions, start and stop latency, reaping, idle.

pub mod callgrind;
mod cpu;
pub mod idle;
pub mod latency;
pub mod reaping;
pub mod sizes;
