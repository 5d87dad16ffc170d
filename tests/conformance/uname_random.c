/* uname fields that do not change (sysname, machine, the shape of the
 * release), sethostname permission-free checks, and getrandom lengths and
 * flags. */
#include "common.h"
#include <sys/random.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	SHOW("uname", uname(&u));
	printf("sysname: %s\n", u.sysname);
	printf("machine: %s\n", u.machine);
	int maj = 0, min = 0;
	YESNO("release looks like N.N", sscanf(u.release, "%d.%d", &maj, &min) == 2 && maj >= 3);
	YESNO("nodename is not empty", u.nodename[0] != 0);
	char host[256];
	SHOW("gethostname", gethostname(host, sizeof(host)));
	YESNO("gethostname equals nodename", strcmp(host, u.nodename) == 0);
	SHOW("uname bad pointer", syscall(SYS_uname, (void *)8));

	/* uname and the hostname inside a child are the same. */
	pid_t pid = fork();
	if (pid == 0) {
		struct utsname c;
		uname(&c);
		printf("child sees the same uname: %s\n",
		       memcmp(&c, &u, sizeof(c)) == 0 ? "yes" : "no");
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);

	/* getrandom. */
	unsigned char buf[512];
	SHOW("getrandom 16", getrandom(buf, 16, 0));
	SHOW("getrandom 256", getrandom(buf, 256, 0));
	SHOW("getrandom 0", getrandom(buf, 0, 0));
	SHOW("getrandom GRND_NONBLOCK", getrandom(buf, 64, GRND_NONBLOCK));
	SHOW("getrandom GRND_RANDOM", getrandom(buf, 64, GRND_RANDOM | GRND_NONBLOCK) > 0 ? 1 : -1);
	SHOW("getrandom bad flags", getrandom(buf, 16, 0x100));
	SHOW("getrandom bad buffer", syscall(SYS_getrandom, (void *)8, 16, 0));
	static unsigned char big[1 << 20];
	long got = syscall(SYS_getrandom, big, sizeof(big), 0);
	YESNO("getrandom 1 MiB returns it all", got == (long)sizeof(big));
	unsigned char a[32], b[32];
	getrandom(a, sizeof(a), 0);
	getrandom(b, sizeof(b), 0);
	YESNO("two draws differ", memcmp(a, b, sizeof(a)) != 0);
	return 0;
}
