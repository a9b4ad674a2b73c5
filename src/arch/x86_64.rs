//! x86-64: `syscall` takes the number in rax, arguments in rdi, rsi, rdx, r10
//! and clobbers rcx and r11.

// At entry rsp is 16-byte aligned and points at argc; `call` then gives
// `start` the alignment the ABI promises it.
naked_functions! {
    start: ["xor ebp, ebp", "mov rdi, rsp", "call {start}", "ud2"],
    switch_stack: ["mov rsp, rdi", "mov rdi, rsi", "call rdx", "ud2"],
}

syscalls!("syscall", nr: "rax", ret: "rax", args: ["rdi", "rsi", "rdx", "r10"], clobbers: ["rcx", "r11"]);
