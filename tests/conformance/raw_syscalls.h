/* The `mov $NR, %eax; syscall` sequence that the sandbox may patch (each
 * place a helper is compiled into is a site), and a check that the
 * registers a system call leaves alone keep their values through such a
 * site. Shared by patched_syscalls.c and tests/patching/fast_path.c. */
#ifndef CONFORMANCE_RAW_SYSCALLS_H
#define CONFORMANCE_RAW_SYSCALLS_H

#include <unistd.h>

static inline long raw_getpid(void)
{
	long r;
	__asm__ volatile("mov $39, %%eax\n\tsyscall"
			 : "=a"(r)
			 :
			 : "rcx", "r11", "memory");
	return r;
}

static inline long raw_gettid(void)
{
	long r;
	__asm__ volatile("mov $186, %%eax\n\tsyscall"
			 : "=a"(r)
			 :
			 : "rcx", "r11", "memory");
	return r;
}

/* Registers the system call does not change keep their values. */
static inline int regs_survive(void)
{
	register long r8 __asm__("r8") = 0x8888;
	register long r9 __asm__("r9") = 0x9999;
	register long r10 __asm__("r10") = 0xaaaa;
	register long r12 __asm__("r12") = 0x2222;
	register long r13 __asm__("r13") = 0x3333;
	long rbx = 0x1111, rdx = 0x4444, rsi = 0x5555, rdi = 0x6666, r;
	__asm__ volatile("mov $39, %%eax\n\tsyscall"
			 : "=a"(r), "+b"(rbx), "+d"(rdx), "+S"(rsi), "+D"(rdi),
			   "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r12), "+r"(r13)
			 :
			 : "rcx", "r11", "memory");
	return r == getpid() && rbx == 0x1111 && rdx == 0x4444 &&
	       rsi == 0x5555 && rdi == 0x6666 && r8 == 0x8888 &&
	       r9 == 0x9999 && r10 == 0xaaaa && r12 == 0x2222 &&
	       r13 == 0x3333;
}

#endif
