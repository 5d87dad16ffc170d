/* FIFOs: opens that wait for the other end, O_NONBLOCK rules, data, EOF. */
#include "common.h"
#include <poll.h>

int main(void)
{
	make_tmpdir("fifo");
	const char *p = conf_path("f");
	SHOW("mkfifo", mkfifo(p, 0600));
	SHOW("mkfifo again", mkfifo(p, 0600));
	struct stat st;
	MUST(stat(p, &st));
	YESNO("is a FIFO", S_ISFIFO(st.st_mode));
	SHOW("size", st.st_size);

	/* Nonblocking opens: a reader needs no writer, a writer needs a reader. */
	SHOW("O_WRONLY|O_NONBLOCK without reader", open(p, O_WRONLY | O_NONBLOCK));
	int r = open(p, O_RDONLY | O_NONBLOCK);
	OK("O_RDONLY|O_NONBLOCK", r);
	char buf[64];
	SHOW("read with no writer yet", read(r, buf, sizeof(buf)));
	int w = open(p, O_WRONLY | O_NONBLOCK);
	OK("O_WRONLY|O_NONBLOCK with reader", w);
	SHOW("read empty with writer", read(r, buf, sizeof(buf)));
	SHOW("write", write(w, "hello", 5));
	struct pollfd pf = { .fd = r, .events = POLLIN };
	SHOW("poll readable", poll(&pf, 1, 0));
	SHOW("read", read(r, buf, sizeof(buf)));
	close(w);
	pf.revents = 0;
	poll(&pf, 1, 0);
	YESNO("POLLHUP after writer closed", pf.revents & POLLHUP);
	SHOW("read at EOF", read(r, buf, sizeof(buf)));
	close(r);

	/* A blocking reader waits until a writer opens. */
	fflush(stdout);
	pid_t pid = fork();
	MUST(pid);
	if (pid == 0) {
		usleep(100000);
		int cw = open(p, O_WRONLY);
		if (cw < 0)
			_exit(1);
		write(cw, "from child", 10);
		close(cw);
		_exit(0);
	}
	r = open(p, O_RDONLY);
	OK("blocking open for reading", r);
	ssize_t n, got = 0;
	while ((n = read(r, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	printf("reader got: %s\n", buf);
	close(r);
	int stc;
	waitpid(pid, &stc, 0);
	printf("child: %s\n", wstatus_str(stc));

	/* O_RDWR never waits, and is both ends at once. */
	int rw = open(p, O_RDWR);
	OK("O_RDWR", rw);
	SHOW("write to self", write(rw, "xy", 2));
	SHOW("read from self", read(rw, buf, sizeof(buf)));
	SHOW("F_GETPIPE_SZ", fcntl(rw, F_GETPIPE_SZ));
	close(rw);
	SHOW("unlink", unlink(p));
	remove_tmpdir();
	return 0;
}
