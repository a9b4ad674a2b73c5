//! LoongArch 64: `syscall 0` takes the number in a7 and arguments in a0..a6;
//! the kernel may destroy the temporaries t0..t8.

// At entry sp is 16-byte aligned and points at argc; frame pointer and return
// address are zeroed to end stack walks. `break 0` traps if `start` returns.
naked_functions! {
    start: ["move $fp, $zero", "move $ra, $zero", "move $a0, $sp", "bl {start}", "break 0"],
    switch_stack: ["move $sp, $a0", "move $a0, $a1", "move $fp, $zero", "jirl $ra, $a2, 0", "break 0"],
}

syscalls!("syscall 0", nr: "$a7", ret: "$a0", args: ["$a0", "$a1", "$a2", "$a3"],
    clobbers: ["$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8"]);
