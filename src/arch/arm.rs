//! 32-bit Arm (EABI): `svc 0` takes the number in r7 and arguments in r0..r5.

// At entry sp points at argc; it is aligned down to 16 for `start`.
naked_functions! {
    start: ["mov fp, #0", "mov lr, #0", "mov r0, sp", "bic sp, sp, #15", "bl {start}", "udf #0"],
    switch_stack: ["mov sp, r0", "mov r0, r1", "blx r2", "udf #0"],
}

syscalls!("svc 0", nr: "r7", ret: "r0", args: ["r0", "r1", "r2", "r3"]);
