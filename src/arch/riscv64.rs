//! RISC-V 64: `ecall` takes the number in a7 and arguments in a0..a5.

// At entry sp is 16-byte aligned and points at argc.
naked_functions! {
    start: ["li fp, 0", "li ra, 0", "mv a0, sp", "call {start}", "unimp"],
    switch_stack: ["mv sp, a0", "mv a0, a1", "jalr a2", "unimp"],
}

syscalls!("ecall", nr: "a7", ret: "a0", args: ["a0", "a1", "a2", "a3"]);
