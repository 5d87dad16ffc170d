/* Large reads of a file the host holds (the C library, which the sandbox
 * reads from its lower layer): whole, vectored, at the end of the file,
 * into a buffer that turns read-only part way (a short read), into one
 * that cannot be written at all (EFAULT, the offset unchanged), and into a
 * buffer a forked child shares copy-on-write with its parent. Each is
 * compared with the same bytes read 4 KiB at a time. Then short reads
 * into a half read-only buffer: small ones, and one of a file written
 * here (which the sandbox holds in its own memory). */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>

static const char *lib(void)
{
	static const char *paths[] = { "/lib/x86_64-linux-gnu/libc.so.6",
				       "/usr/lib/x86_64-linux-gnu/libc.so.6",
				       "/lib64/libc.so.6" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	return paths[0];
}

/* Reads 2 * `half` pages from the start of `fd` into a buffer whose
 * second half is read-only: prints what the read returned and where the
 * offset went, and checks the bytes against `ref`. */
static void half_read_only(const char *what, int fd, int half,
			   const unsigned char *ref)
{
	size_t len = 2 * half * 4096;
	unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(m == MAP_FAILED ? -1 : 0);
	MUST(mprotect(m + len / 2, len / 2, PROT_READ));
	MUST(lseek(fd, 0, SEEK_SET));
	ssize_t n = read(fd, m, len);
	printf("%s into a half read-only buffer: %zd\n", what, n);
	printf("%s: offset after it %lld\n", what,
	       (long long)lseek(fd, 0, SEEK_CUR));
	YESNO("its bytes match", n > 0 && memcmp(m, ref, n) == 0);
	munmap(m, len);
}

int main(void)
{
	int fd = open(lib(), O_RDONLY);
	MUST(fd);
	struct stat st;
	MUST(fstat(fd, &st));
	size_t size = st.st_size;
	YESNO("file larger than 256 KiB", size > (256 << 10));

	/* The reference: 4 KiB at a time. */
	unsigned char *ref = malloc(size);
	for (size_t o = 0; o < size; o += 4096) {
		size_t n = size - o < 4096 ? size - o : 4096;
		if (pread(fd, ref + o, n, o) != (ssize_t)n)
			MUST(-1);
	}

	unsigned char *buf = malloc(size + 4096);
	ssize_t n = read(fd, buf, size + 4096);
	YESNO("whole read returns the size", n == (ssize_t)size);
	YESNO("whole read matches", n > 0 && memcmp(buf, ref, size) == 0);
	YESNO("offset after it is the size", lseek(fd, 0, SEEK_CUR) == (off_t)size);
	SHOW("read at the end", read(fd, buf, 1 << 20));

	/* Vectored, from an offset. */
	memset(buf, 0, size);
	struct iovec iov[3] = { { buf, 100000 }, { buf + 100000, 1 },
				{ buf + 100001, 200000 } };
	n = preadv(fd, iov, 3, 4096);
	SHOW("preadv", n);
	YESNO("preadv matches", memcmp(buf, ref + 4096, 300001) == 0);

	/* Near the end of the file. */
	SHOW("pread across the end", pread(fd, buf, 1 << 20, size - 1000));
	YESNO("its bytes match", memcmp(buf, ref + size - 1000, 1000) == 0);

	/* A buffer whose second half is read-only: a short read. */
	unsigned char *m = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MUST(m == MAP_FAILED ? -1 : 0);
	MUST(mprotect(m + 32 * 4096, 32 * 4096, PROT_READ));
	MUST(lseek(fd, 0, SEEK_SET));
	SHOW("read into a half read-only buffer", read(fd, m, 64 * 4096));
	YESNO("its bytes match", memcmp(m, ref, 32 * 4096) == 0);
	SHOW("offset after it", lseek(fd, 0, SEEK_CUR));

	/* A buffer that cannot be written at all. */
	MUST(mprotect(m, 64 * 4096, PROT_READ));
	SHOW("read into a read-only buffer", read(fd, m, 64 * 4096));
	SHOW("offset after it", lseek(fd, 0, SEEK_CUR));
	munmap(m, 64 * 4096);

	/* Copy-on-write: the child's read lands in its own copy only. */
	memset(buf, 'A', 256 << 10);
	pid_t c = fork();
	MUST(c);
	if (c == 0) {
		ssize_t r = pread(fd, buf, 256 << 10, 0);
		_exit(r == (256 << 10) && memcmp(buf, ref, r) == 0 ? 0 : 1);
	}
	int ws;
	MUST(waitpid(c, &ws, 0));
	printf("child read: %s\n", wstatus_str(ws));
	int same = 1;
	for (size_t i = 0; i < (256 << 10); i++)
		same &= buf[i] == 'A';
	YESNO("parent's buffer untouched", same);

	half_read_only("small read of the library", fd, 4, ref);
	make_tmpdir("read_large");
	int w = open(conf_path("f"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	MUST(w);
	MUST(write(w, ref, 256 << 10));
	half_read_only("large read of a file written here", w, 32, ref);
	half_read_only("small read of a file written here", w, 4, ref);
	close(w);
	unlink(conf_path("f"));
	remove_tmpdir();
	return 0;
}
