/* Default signal actions, observed in children through wait: terminate,
 * ignore (SIGCHLD, SIGURG, SIGWINCH), stop/continue, and that handlers are
 * reset by exec while SIG_IGN is kept. */
#include "common.h"
#include <sys/resource.h>

static int sig_to_send;

static void raise_it(void)
{
	struct rlimit no_core = { 0, 0 };
	setrlimit(RLIMIT_CORE, &no_core);
	set_default(sig_to_send);
	raise(sig_to_send);
	printf("  survived %s\n", sn(sig_to_send));
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		/* After exec: report the dispositions we inherited. */
		struct sigaction sa;
		sigaction(SIGUSR1, NULL, &sa);
		printf("after exec SIGUSR1 (had a handler): %s\n",
		       sa.sa_handler == SIG_DFL ? "SIG_DFL" : "other");
		sigaction(SIGUSR2, NULL, &sa);
		printf("after exec SIGUSR2 (was ignored): %s\n",
		       sa.sa_handler == SIG_IGN ? "SIG_IGN" : "other");
		return 0;
	}
	int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGFPE,
		       SIGSEGV, SIGBUS, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
		       SIGTERM, SIGCHLD, SIGURG, SIGWINCH, SIGXCPU, SIGSYS,
		       SIGRTMIN, SIGRTMAX };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sig_to_send = sigs[i];
		int st = in_child(raise_it);
		printf("raise %s: %s\n", sn(sigs[i]), wstatus_str(st));
	}

	/* SIGSTOP / SIGTSTP stop; SIGCONT continues; SIGKILL kills a stopped
	 * process. */
	pid_t pid = fork();
	if (pid == 0) {
		set_default(SIGTSTP);
		raise(SIGTSTP);
		printf("  child continued after SIGTSTP\n");
		_exit(3);
	}
	int st;
	waitpid(pid, &st, WUNTRACED);
	printf("SIGTSTP: %s\n", wstatus_str(st));
	kill(pid, SIGCONT);
	waitpid(pid, &st, 0);
	printf("after SIGCONT: %s\n", wstatus_str(st));

	pid = fork();
	if (pid == 0) {
		raise(SIGSTOP);
		_exit(0);
	}
	waitpid(pid, &st, WUNTRACED);
	printf("SIGSTOP: %s\n", wstatus_str(st));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	printf("SIGKILL while stopped: %s\n", wstatus_str(st));

	/* Handlers are reset to default by exec; ignored stays ignored. */
	set_handler(SIGUSR1, (void (*)(int))raise_it, 0);
	signal(SIGUSR2, SIG_IGN);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "exec", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("exec'd child: %s\n", wstatus_str(st));

	/* An ignored SIGSEGV sent with kill is ignored, too. */
	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_IGN);
		raise(SIGSEGV);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("ignored SIGSEGV via raise: %s\n", wstatus_str(st));
	return 0;
}
