//! AArch64: `svc 0` takes the number in x8 and arguments in x0..x5.

// At entry sp is 16-byte aligned and points at argc; frame pointer and link
// register are zeroed to end stack walks.
naked_functions! {
    start: ["mov x29, xzr", "mov x30, xzr", "mov x0, sp", "bl {start}", "udf #0"],
    switch_stack: ["mov sp, x0", "mov x0, x1", "mov x29, xzr", "blr x2", "udf #0"],
}

syscalls!("svc 0", nr: "x8", ret: "x0", args: ["x0", "x1", "x2", "x3"]);
