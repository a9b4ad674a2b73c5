//! The figures of one process per peer, each peer as PID 1 of its own PID
//! namespace: sizes, instructions, start and stop latency, reaping (time, and
//! instructions and system calls per orphan), idle.

pub mod callgrind;
pub mod cpu;
pub mod idle;
pub mod latency;
pub mod reapcount;
pub mod reaping;
pub mod sizes;
