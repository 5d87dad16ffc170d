/* Pseudo-terminals: /dev/ptmx and its slave, the line discipline (echo,
 * canonical lines, erase, end of file, raw mode), signal characters to the
 * foreground group, window size, output flow control (tcflow and the
 * STOP/START characters with IXON), and hangup. */
#include "common.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>

static void show_bytes(const char *label, const char *b, ssize_t n)
{
	printf("%s: %ld [", label, (long)n);
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("]\n");
}

/* Reads what the master has, waiting a little for it. */
static ssize_t drain(int m, char *buf, size_t len)
{
	ssize_t got = 0;
	struct pollfd p = { .fd = m, .events = POLLIN };
	while (got < (ssize_t)len && poll(&p, 1, 200) > 0 && (p.revents & POLLIN)) {
		ssize_t n = read(m, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

int main(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	MUST(m);
	char *name = ptsname(m);
	YESNO("ptsname under /dev/pts", name && strncmp(name, "/dev/pts/", 9) == 0);
	SHOW("open slave while locked", open(name, O_RDWR | O_NOCTTY));
	SHOW("grantpt", grantpt(m));
	SHOW("unlockpt", unlockpt(m));
	int s = open(name, O_RDWR | O_NOCTTY);
	OK("open slave", s);
	struct stat st;
	MUST(fstat(s, &st));
	YESNO("slave is a char device", S_ISCHR(st.st_mode));
	SHOW("slave major", major(st.st_rdev));
	SHOW("isatty(slave)", isatty(s));
	unsigned int n;
	SHOW("TIOCGPTN", ioctl(m, TIOCGPTN, &n) == 0 && n == (unsigned)atoi(name + 9) ? 0 : -1);

	struct termios t;
	MUST(tcgetattr(s, &t));
	printf("default lflag ICANON %d ECHO %d ISIG %d, iflag ICRNL %d, oflag ONLCR %d\n",
	       !!(t.c_lflag & ICANON), !!(t.c_lflag & ECHO), !!(t.c_lflag & ISIG),
	       !!(t.c_iflag & ICRNL), !!(t.c_oflag & ONLCR));
	printf("VINTR %d VEOF %d VERASE %d VMIN %d\n", t.c_cc[VINTR], t.c_cc[VEOF], t.c_cc[VERASE],
	       t.c_cc[VMIN]);

	/* Canonical input: a line with an erased character, echoed. */
	char buf[256];
	MUST(write(m, "abx\x7f" "c\r", 6));
	ssize_t r = read(s, buf, sizeof(buf));
	show_bytes("slave reads line", buf, r);
	r = drain(m, buf, sizeof(buf));
	show_bytes("echo", buf, r);
	/* A partial line is not readable; ^D hands it over; ^D alone is EOF. */
	MUST(fcntl(s, F_SETFL, O_NONBLOCK));
	MUST(write(m, "par", 3));
	SHOW("read partial line", read(s, buf, sizeof(buf)));
	MUST(write(m, "\x04", 1));
	r = read(s, buf, sizeof(buf));
	show_bytes("after ^D", buf, r);
	MUST(write(m, "\x04", 1));
	SHOW("^D on empty line", read(s, buf, sizeof(buf)));
	drain(m, buf, sizeof(buf));

	/* Output processing. */
	MUST(write(s, "out\n", 4));
	r = drain(m, buf, sizeof(buf));
	show_bytes("master reads output", buf, r);

	/* Raw mode. */
	struct termios raw = t;
	cfmakeraw(&raw);
	MUST(tcsetattr(s, TCSANOW, &raw));
	MUST(write(m, "\x03q\r", 3));
	r = read(s, buf, sizeof(buf));
	show_bytes("raw read", buf, r);
	SHOW("raw echo", drain(m, buf, sizeof(buf)));
	MUST(tcsetattr(s, TCSANOW, &t));
	SHOW("FIONREAD empty", ioctl(s, FIONREAD, &n) == 0 ? (long)n : -1);

	/* Window size. */
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	SHOW("TIOCSWINSZ", ioctl(m, TIOCSWINSZ, &ws));
	struct winsize w2 = { 0 };
	SHOW("TIOCGWINSZ on slave", ioctl(s, TIOCGWINSZ, &w2));
	printf("rows %d cols %d\n", w2.ws_row, w2.ws_col);

	/* Flow control. The slave is nonblocking (set above). */
	struct pollfd sp = { .fd = s, .events = POLLOUT };
	SHOW("tcflow TCOOFF", tcflow(s, TCOOFF));
	SHOW("write while stopped", write(s, "a", 1));
	SHOW("POLLOUT while stopped", poll(&sp, 1, 0));
	MUST(write(m, "\x11", 1)); /* ^Q does not undo TCOOFF */
	SHOW("write after ^Q", write(s, "a", 1));
	SHOW("tcflow TCOON", tcflow(s, TCOON));
	SHOW("write after TCOON", write(s, "b", 1));
	r = drain(m, buf, sizeof(buf));
	show_bytes("master reads", buf, r);
	/* Linux hands the master's input to the line discipline a moment
	 * later: wait (a while) for ^S to stop the output and ^Q to restart
	 * it before writing. */
	MUST(write(m, "\x13", 1)); /* ^S */
	for (int i = 0; i < 100 && poll(&sp, 1, 0) > 0; i++)
		usleep(10000);
	SHOW("POLLOUT after ^S", poll(&sp, 1, 0));
	SHOW("write after ^S", write(s, "c", 1));
	MUST(write(m, "\x11", 1)); /* ^Q */
	SHOW("POLLOUT after ^Q", poll(&sp, 1, 1000));
	SHOW("write after ^Q", write(s, "d", 1));
	r = drain(m, buf, sizeof(buf));
	show_bytes("master reads", buf, r);
	SHOW("^S and ^Q were not input", read(s, buf, sizeof(buf)));
	SHOW("tcflow TCIOFF", tcflow(s, TCIOFF));
	SHOW("tcflow TCION", tcflow(s, TCION));
	r = drain(m, buf, sizeof(buf));
	show_bytes("master reads", buf, r);
	SHOW("tcflow -1", tcflow(s, -1));
	SHOW("tcflow 4", tcflow(s, 4));
	SHOW("tcflow on the master", tcflow(m, TCOON));

	/* A child session with the slave as controlling terminal: ^C reaches
	 * its foreground group. */
	fflush(stdout);
	pid_t pid = fork();
	MUST(pid);
	if (pid == 0) {
		setsid();
		int cs = open(name, O_RDWR);
		if (cs < 0)
			_exit(10);
		pid_t fg = tcgetpgrp(cs);
		if (fg != getpid())
			_exit(11);
		if (tcgetsid(cs) != getpid())
			_exit(12);
		int tty = open("/dev/tty", O_RDWR);
		if (tty < 0)
			_exit(13);
		write(tty, "ready\n", 6);
		pause();
		_exit(14);
	}
	r = 0;
	{
		ssize_t k;
		struct pollfd p = { .fd = m, .events = POLLIN };
		while (r < 7 && poll(&p, 1, 5000) > 0 && (k = read(m, buf + r, sizeof(buf) - r)) > 0)
			r += k;
	}
	show_bytes("child says", buf, r);
	MUST(write(m, "\x03", 1));
	int stc;
	waitpid(pid, &stc, 0);
	printf("child: %s\n", wstatus_str(stc));

	/* Hangup: closing the master. */
	close(m);
	SHOW("slave read after hangup", read(s, buf, sizeof(buf)));
	SHOW("slave write after hangup", write(s, "x", 1));
	close(s);
	SHOW("slave name gone", access(name, F_OK));
	return 0;
}
