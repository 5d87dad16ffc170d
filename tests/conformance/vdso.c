/* The vDSO: found through AT_SYSINFO_EHDR, shown in /proc/self/maps as
 * [vdso] and [vvar], exporting __vdso_clock_gettime, __vdso_gettimeofday,
 * __vdso_time and __vdso_getcpu under LINUX_2.6. Its functions, called
 * directly, agree with the system calls: monotonic time never goes back
 * between the two paths (across the sentry's periodic updates and a
 * fork), realtime, gettimeofday and time agree, every clock either works
 * or fails the same way, and getcpu names a CPU the process may run on. */
#include "common.h"
#include <elf.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <sys/time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static uintptr_t bias;
static const Elf64_Dyn *dyn;

static uintptr_t dyn_ptr(Elf64_Sxword tag)
{
	for (const Elf64_Dyn *d = dyn; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == tag)
			return bias + d->d_un.d_ptr;
	return 0;
}

/* Address of `name` at version `version` in the vDSO, or NULL. */
static void *vdso_sym(const char *name, const char *version)
{
	const char *strtab = (const char *)dyn_ptr(DT_STRTAB);
	const Elf64_Sym *symtab = (const Elf64_Sym *)dyn_ptr(DT_SYMTAB);
	const Elf64_Word *hash = (const Elf64_Word *)dyn_ptr(DT_HASH);
	const Elf64_Versym *versym = (const Elf64_Versym *)dyn_ptr(DT_VERSYM);
	const char *verdef = (const char *)dyn_ptr(DT_VERDEF);
	if (!strtab || !symtab || !hash || !versym || !verdef)
		return NULL;
	for (Elf64_Word i = 1; i < hash[1]; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (s->st_shndx == SHN_UNDEF || strcmp(strtab + s->st_name, name) != 0)
			continue;
		int ndx = versym[i] & 0x7fff;
		for (const char *p = verdef;;) {
			const Elf64_Verdef *vd = (const Elf64_Verdef *)p;
			const Elf64_Verdaux *aux = (const Elf64_Verdaux *)(p + vd->vd_aux);
			if (vd->vd_ndx == ndx && strcmp(strtab + aux->vda_name, version) == 0)
				return (void *)(bias + s->st_value);
			if (!vd->vd_next)
				break;
			p += vd->vd_next;
		}
	}
	return NULL;
}

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static clock_gettime_fn vdso_clock_gettime;

static long long via_vdso(clockid_t c)
{
	struct timespec t;
	if (vdso_clock_gettime(c, &t) != 0)
		return -1;
	return ns(&t);
}

static long long via_syscall(clockid_t c)
{
	struct timespec t;
	if (syscall(SYS_clock_gettime, c, &t) != 0)
		return -1;
	return ns(&t);
}

/* The maps line of the mapping named `name`: its start, permissions and
 * offset. */
static int find_mapping(const char *name, uintptr_t *start, char perms[5], unsigned long *off)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		size_t n = strlen(line), k = strlen(name);
		if (n < k || strcmp(line + n - k, name) != 0)
			continue;
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx %4s %lx", &s, &e, perms, off) == 4) {
			*start = s;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Reads the clock alternately both ways for `ms` milliseconds: the number
 * of times a reading was below the one before. */
static int backwards_mixed(clockid_t c, int ms)
{
	int back = 0;
	long long prev = via_syscall(c);
	long long end = prev + ms * 1000000LL;
	for (long i = 0; prev < end; i++) {
		long long t = (i & 1) ? via_syscall(c) : via_vdso(c);
		back += t < prev;
		prev = t;
	}
	return back;
}

/* The latest monotonic time any thread has read. */
static _Atomic long long latest;

/* Reads monotonic time both ways for `arg` ms; counts readings below one
 * that another thread (or this one) had already seen. */
static void *shared_reader(void *arg)
{
	long ms = (long)arg;
	long back = 0;
	long long end = via_vdso(CLOCK_MONOTONIC) + ms * 1000000LL;
	for (long i = 0;; i++) {
		long long seen = atomic_load(&latest);
		long long t = (i % 3 == 2) ? via_syscall(CLOCK_MONOTONIC) : via_vdso(CLOCK_MONOTONIC);
		back += t < seen;
		long long cur = atomic_load(&latest);
		while (t > cur && !atomic_compare_exchange_weak(&latest, &cur, t))
			;
		if (t > end)
			break;
	}
	return (void *)back;
}

int main(void)
{
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);
	YESNO("AT_SYSINFO_EHDR given", ehdr != 0);
	if (!ehdr)
		return 1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)ehdr;
	YESNO("an ELF shared object", memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_type == ET_DYN);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(ehdr + eh->e_phoff);
	int have_load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = ehdr + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		}
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(ehdr + ph[i].p_offset);
	}
	YESNO("has PT_LOAD and PT_DYNAMIC", have_load && dyn);

	uintptr_t vdso_start = 0, vvar_start = 0;
	unsigned long vdso_off = 1, vvar_off = 1;
	char perms[5] = "", vvar_perms[5] = "";
	YESNO("maps has [vdso]", find_mapping("[vdso]", &vdso_start, perms, &vdso_off));
	printf("[vdso] permissions: %s, offset %lx\n", perms, vdso_off);
	YESNO("[vdso] starts at AT_SYSINFO_EHDR", vdso_start == ehdr);
	YESNO("maps has [vvar]", find_mapping("[vvar]", &vvar_start, vvar_perms, &vvar_off));
	printf("[vvar] permissions: %s, offset %lx\n", vvar_perms, vvar_off);
	YESNO("[vvar] below [vdso]", vvar_start && vvar_start < vdso_start);

	const char *names[] = { "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
				"__vdso_getcpu", "clock_gettime", "gettimeofday", "time", "getcpu" };
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		char label[64];
		snprintf(label, sizeof label, "%s@LINUX_2.6", names[i]);
		YESNO(label, vdso_sym(names[i], "LINUX_2.6") != NULL);
	}
	YESNO("no __vdso_clock_gettime@LINUX_9.9", vdso_sym("__vdso_clock_gettime", "LINUX_9.9") == NULL);

	vdso_clock_gettime = (clock_gettime_fn)vdso_sym("__vdso_clock_gettime", "LINUX_2.6");
	gettimeofday_fn vdso_gettimeofday = (gettimeofday_fn)vdso_sym("__vdso_gettimeofday", "LINUX_2.6");
	time_fn vdso_time = (time_fn)vdso_sym("__vdso_time", "LINUX_2.6");
	getcpu_fn vdso_getcpu = (getcpu_fn)vdso_sym("__vdso_getcpu", "LINUX_2.6");
	if (!vdso_clock_gettime || !vdso_gettimeofday || !vdso_time || !vdso_getcpu)
		return 1;

	/* Every clock: the vDSO's answer is the system call's. */
	struct {
		clockid_t id;
		const char *name;
	} clocks[] = {
		{ CLOCK_REALTIME, "REALTIME" },
		{ CLOCK_MONOTONIC, "MONOTONIC" },
		{ CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID" },
		{ CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID" },
		{ CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
		{ CLOCK_REALTIME_COARSE, "REALTIME_COARSE" },
		{ CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
		{ CLOCK_BOOTTIME, "BOOTTIME" },
		{ CLOCK_TAI, "TAI" },
		{ 12345, "12345" },
		{ -1, "-1" },
	};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec a = { -1, -1 }, b = { -1, -1 };
		int r1 = vdso_clock_gettime(clocks[i].id, &a);
		errno = 0;
		long r2 = syscall(SYS_clock_gettime, clocks[i].id, &b);
		int e2 = errno;
		int valid = a.tv_nsec >= 0 && a.tv_nsec < 1000000000 && b.tv_nsec >= 0 && b.tv_nsec < 1000000000;
		if (r2 < 0)
			printf("clock %s: vdso %s, syscall %s\n", clocks[i].name, r1 == 0 ? "0" : en(-r1), en(e2));
		else
			printf("clock %s: vdso %d, syscall %ld, valid %s\n", clocks[i].name, r1, r2,
			       valid ? "yes" : "no");
	}

	/* Monotonic clocks never go back, mixing both paths over more than
	 * one update of the time data. */
	printf("MONOTONIC mixed backwards: %d\n", backwards_mixed(CLOCK_MONOTONIC, 150));
	printf("BOOTTIME mixed backwards: %d\n", backwards_mixed(CLOCK_BOOTTIME, 60));
	printf("MONOTONIC_RAW mixed backwards: %d\n", backwards_mixed(CLOCK_MONOTONIC_RAW, 60));
	int coarse_ahead = 0, coarse_back = 0;
	long long prev_coarse = 0;
	for (int i = 0; i < 20000; i++) {
		long long c = via_vdso(CLOCK_MONOTONIC_COARSE);
		long long f = via_vdso(CLOCK_MONOTONIC);
		coarse_ahead += c > f;
		coarse_back += c < prev_coarse;
		prev_coarse = c;
	}
	printf("MONOTONIC_COARSE ahead of a later MONOTONIC: %d, backwards: %d\n", coarse_ahead, coarse_back);
	long long mono = via_vdso(CLOCK_MONOTONIC);
	YESNO("BOOTTIME at least MONOTONIC", via_vdso(CLOCK_BOOTTIME) >= mono);

	/* Realtime: the two paths agree closely and in order. */
	long long r1 = via_vdso(CLOCK_REALTIME);
	long long r2 = via_syscall(CLOCK_REALTIME);
	long long r3 = via_vdso(CLOCK_REALTIME);
	YESNO("REALTIME vdso, syscall, vdso in order", r1 <= r2 && r2 <= r3);
	YESNO("REALTIME paths within 50ms", r3 - r1 < 50000000LL);
	YESNO("REALTIME after 2020", r1 / 1000000000LL > 1577836800LL);

	/* gettimeofday and time agree with each other and with realtime. */
	time_t t1 = vdso_time(NULL);
	struct timeval tv;
	struct timezone tz = { -1, -1 };
	int gr = vdso_gettimeofday(&tv, &tz);
	time_t t2_out = 0;
	time_t t2 = vdso_time(&t2_out);
	printf("gettimeofday: %d, usec valid %s\n", gr, tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? "yes" : "no");
	YESNO("time() stores what it returns", t2 == t2_out);
	YESNO("time() <= gettimeofday <= time()+1", t1 <= tv.tv_sec && tv.tv_sec <= t2 + 1);
	YESNO("gettimeofday NULL, NULL works", vdso_gettimeofday(NULL, NULL) == 0);
	struct timeval stv;
	syscall(SYS_gettimeofday, &stv, NULL);
	long long d = (stv.tv_sec - tv.tv_sec) * 1000000LL + (stv.tv_usec - tv.tv_usec);
	YESNO("gettimeofday vdso then syscall: in order, within 50ms", d >= 0 && d < 50000);
	time_t st = syscall(SYS_time, NULL);
	YESNO("time syscall within a second of vdso", st - t2 >= 0 && st - t2 <= 1);

	/* getcpu: a CPU this process may run on, the same both ways. */
	cpu_set_t set;
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof set, &set);
	unsigned cpu = 99999, node = 99999;
	long gc = vdso_getcpu(&cpu, &node, NULL);
	printf("getcpu: %ld, cpu allowed %s, node valid %s\n", gc,
	       cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set) ? "yes" : "no", node < 4096 ? "yes" : "no");
	YESNO("getcpu with NULLs works", vdso_getcpu(NULL, NULL, NULL) == 0);
	unsigned scpu = 99999;
	long sgc = syscall(SYS_getcpu, &scpu, NULL, NULL);
	printf("getcpu syscall: %ld, cpu allowed %s\n", sgc, scpu < CPU_SETSIZE && CPU_ISSET(scpu, &set) ? "yes" : "no");
	int sc = sched_getcpu();
	YESNO("sched_getcpu allowed", sc >= 0 && sc < CPU_SETSIZE && CPU_ISSET(sc, &set));

	/* Threads on any CPU never see time before what another saw. */
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, shared_reader, (void *)100L);
	long shared_back = 0;
	for (int i = 0; i < 3; i++) {
		void *r;
		pthread_join(th[i], &r);
		shared_back += (long)r;
	}
	printf("threads: readings before another thread's: %ld\n", shared_back);

	/* A forked child has the vDSO at the same place, and its time
	 * continues from the parent's. */
	long long before = via_vdso(CLOCK_MONOTONIC);
	pid_t pid = fork();
	if (pid == 0) {
		long long c1 = via_vdso(CLOCK_MONOTONIC);
		long long c2 = via_syscall(CLOCK_MONOTONIC);
		int ok = getauxval(AT_SYSINFO_EHDR) == ehdr && c1 >= before && c2 >= c1 &&
			 backwards_mixed(CLOCK_MONOTONIC, 20) == 0;
		_exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child: %s\n", wstatus_str(status));
	YESNO("parent after child: not before the fork", via_vdso(CLOCK_MONOTONIC) >= before);
	return 0;
}
