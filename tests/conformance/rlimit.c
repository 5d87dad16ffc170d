/* getrlimit/setrlimit/prlimit: round trips, lowering and (not) raising,
 * EINVAL for soft > hard, and enforcement of RLIMIT_NOFILE, RLIMIT_FSIZE
 * and RLIMIT_AS; limits are inherited by a child. Only values the program
 * sets are printed. */
#include "common.h"
#include <sys/mman.h>
#include <sys/resource.h>

static volatile int got_xfsz;
static void on_xfsz(int sig)
{
	(void)sig;
	got_xfsz = 1;
}

int main(void)
{
	struct rlimit rl, orig;
	SHOW("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &orig));
	rl.rlim_cur = 64;
	rl.rlim_max = orig.rlim_max;
	SHOW("setrlimit NOFILE soft 64", setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("read back soft: %lu, hard unchanged: %s\n", (unsigned long)rl.rlim_cur,
	       rl.rlim_max == orig.rlim_max ? "yes" : "no");

	/* Open until EMFILE: the last descriptor is 63. */
	int last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	printf("open stops with %s, highest fd %d\n", en(errno), last);
	SHOW("dup2 to 64", dup2(0, 64));
	SHOW("F_DUPFD from 63", fcntl(0, F_DUPFD, 63) >= 0 ? 63 : -1);
	for (int i = 3; i <= 63; i++)
		close(i);

	rl.rlim_cur = 100;
	rl.rlim_max = 50;
	SHOW("soft above hard", setrlimit(RLIMIT_NOFILE, &rl));
	SHOW("bad resource", getrlimit(99, &rl));
	SHOW("bad pointer", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8));

	/* prlimit on ourselves: set and get the old value at once. */
	struct rlimit newl = { 128, orig.rlim_max }, oldl;
	SHOW("prlimit set 128", prlimit(0, RLIMIT_NOFILE, &newl, &oldl));
	printf("prlimit old soft: %lu\n", (unsigned long)oldl.rlim_cur);
	SHOW("prlimit on a missing pid", prlimit(0x3ffffff, RLIMIT_NOFILE, NULL, &oldl));

	/* A lowered hard limit cannot be raised again without privilege, but
	 * check only in a child that dropped it, with the value it set. */
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit c;
		getrlimit(RLIMIT_NOFILE, &c);
		printf("child inherits soft: %lu\n", (unsigned long)c.rlim_cur);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);

	/* RLIMIT_FSIZE: a write past it gets SIGXFSZ (handled) and EFBIG. */
	make_tmpdir("rlimit");
	set_handler(SIGXFSZ, on_xfsz, 0);
	struct rlimit fs = { 1000, RLIM_INFINITY };
	getrlimit(RLIMIT_FSIZE, &rl);
	fs.rlim_max = rl.rlim_max;
	SHOW("setrlimit FSIZE 1000", setrlimit(RLIMIT_FSIZE, &fs));
	fd = open(conf_path("f"), O_WRONLY | O_CREAT, 0644);
	static char buf[1500];
	SHOW("write 1500 (partial)", write(fd, buf, sizeof(buf)));
	SHOW("write past limit", write(fd, buf, 10));
	printf("SIGXFSZ delivered: %d\n", got_xfsz);
	SHOW("ftruncate past limit", ftruncate(fd, 5000));
	close(fd);
	setrlimit(RLIMIT_FSIZE, &rl);
	remove_tmpdir();

	/* RLIMIT_AS: a large mapping fails with ENOMEM. */
	pid = fork();
	if (pid == 0) {
		struct rlimit as = { 1UL << 30, 1UL << 30 };
		setrlimit(RLIMIT_AS, &as);
		errno = 0;
		void *p = mmap(NULL, 2UL << 30, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		printf("2 GiB mmap under 1 GiB RLIMIT_AS: %s\n", p == MAP_FAILED ? en(errno) : "mapped");
		p = mmap(NULL, 1UL << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		printf("1 MiB mmap under it: %s\n", p == MAP_FAILED ? en(errno) : "mapped");
		_exit(0);
	}
	waitpid(pid, &st, 0);

	/* RLIMIT_CORE and RLIMIT_STACK round trips. */
	struct rlimit core = { 0, 0 };
	SHOW("setrlimit CORE 0", setrlimit(RLIMIT_CORE, &core));
	getrlimit(RLIMIT_CORE, &core);
	printf("CORE read back: %lu/%lu\n", (unsigned long)core.rlim_cur, (unsigned long)core.rlim_max);
	core.rlim_cur = 1;
	SHOW("raise CORE above hard 0", setrlimit(RLIMIT_CORE, &core));
	return 0;
}
