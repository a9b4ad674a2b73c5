//! s390x: `svc 0` takes the number in r1 and arguments in r2..r7; the result
//! comes back in r2.

// At entry r15 points at argc. The ABI wants a 160-byte register save area
// below the stack pointer of every caller, with a zero back chain to end
// stack walks.
naked_functions! {
    start: [
        "lgr %r2, %r15",
        "aghi %r15, -160",
        "xc 0(8,%r15), 0(%r15)",
        "brasl %r14, {start}",
        "j .",
    ],
    switch_stack: [
        "lgr %r15, %r2",
        "aghi %r15, -160",
        "xc 0(8,%r15), 0(%r15)",
        "lgr %r2, %r3",
        "basr %r14, %r4",
        "j .",
    ],
}

syscalls!("svc 0", nr: "r1", ret: "r2", args: ["r2", "r3", "r4", "r5"]);
