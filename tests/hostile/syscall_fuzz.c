/* A hostile program: many child processes each make hundreds of system
 * calls with random numbers and random arguments (wild pointers, huge
 * values, -1). Calls that would only end or stall the child are left out.
 * The sandbox must give errnos or signals and keep running. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static int banned(long n){ switch(n){ case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigreturn:
 case SYS_clone: case SYS_clone3: case SYS_fork: case SYS_vfork: case SYS_execve: case SYS_execveat: case SYS_pause: case SYS_rt_sigsuspend:
 case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_wait4: case SYS_waitid: case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
 case SYS_select: case SYS_pselect6: case SYS_poll: case SYS_ppoll: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2: case SYS_futex: case SYS_rt_sigtimedwait:
 case SYS_accept: case SYS_accept4: case SYS_recvfrom: case SYS_recvmsg: case SYS_msgrcv: case SYS_semop: case SYS_semtimedop: case SYS_flock: case SYS_fcntl: case SYS_setsid: case SYS_ptrace: case SYS_munmap: case SYS_mprotect: case SYS_mremap: case SYS_brk: case SYS_madvise: case SYS_arch_prctl: case SYS_prctl: case SYS_setrlimit: case SYS_prlimit64: case SYS_setuid: case SYS_setresuid: case SYS_setreuid: case 335: case 336: case SYS_rt_sigprocmask: case SYS_sigaltstack: case SYS_mmap: case SYS_close_range: case SYS_close: case SYS_dup2: case SYS_dup3: case SYS_io_getevents: case SYS_mq_timedreceive: case SYS_restart_syscall: case SYS_seccomp: return 1; } return 0; }
static long rnd(){ long v = ((long)rand()<<32) ^ rand(); switch(rand()%6){ case 0: return 0; case 1: return rand()%16; case 2: return -1; case 3: return v; case 4: return (long)&v; default: return rand(); } }
int main(int argc, char **argv){ int seed = argc>1? atoi(argv[1]) : 1; int crashed=0;
 for(int b=0;b<40;b++){ pid_t p=fork(); if(!p){ srand(seed*1000+b); alarm(2); for(int i=0;i<300;i++){ long n=rand()%452; if(banned(n)) continue; syscall(n,rnd(),rnd(),rnd(),rnd(),rnd(),rnd()); } _exit(0);} 
   int st; waitpid(p,&st,0); if(WIFSIGNALED(st)) crashed++; }
 printf("alive after fuzzing (%d children died of signals)\n", crashed); return 0; }
