/* sendfile, splice, tee, copy_file_range. */
#include "common.h"
#include <sys/sendfile.h>

int main(void)
{
	make_tmpdir("splice");
	const char *a = conf_path("a"), *b = conf_path("b");
	write_file(a, "0123456789");
	int in = open(a, O_RDONLY);
	int out = open(b, O_RDWR | O_CREAT | O_TRUNC, 0644);
	MUST(in);
	MUST(out);
	SHOW("sendfile file to file", sendfile(out, in, NULL, 4));
	SHOW("input offset moved", lseek(in, 0, SEEK_CUR));
	off_t off = 6;
	SHOW("sendfile with offset", sendfile(out, in, &off, 100));
	SHOW("offset updated", off);
	SHOW("input offset kept", lseek(in, 0, SEEK_CUR));
	char buf[32] = { 0 };
	pread(out, buf, sizeof(buf) - 1, 0);
	printf("output: %s\n", buf);

	int p[2], q[2];
	MUST(pipe(p));
	MUST(pipe(q));
	SHOW("sendfile file to pipe", sendfile(p[1], in, NULL, 3));
	SHOW("tee", tee(p[0], q[1], 100, 0));
	memset(buf, 0, sizeof(buf));
	SHOW("read tee copy", read(q[0], buf, sizeof(buf)));
	printf("tee copy: %s\n", buf);
	loff_t lo = 0;
	SHOW("splice pipe to file", splice(p[0], NULL, out, &lo, 100, 0));
	SHOW("splice offset", lo);
	SHOW("splice with no pipe", splice(in, NULL, out, NULL, 10, 0));
	SHOW("splice pipe offset", splice(p[0], &lo, out, NULL, 10, 0));
	SHOW("splice empty nonblocking", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK));
	lo = 0;
	SHOW("splice file to pipe", splice(in, &lo, p[1], NULL, 5, 0));
	memset(buf, 0, sizeof(buf));
	SHOW("read it", read(p[0], buf, sizeof(buf)));
	printf("got: %s\n", buf);

	loff_t ia = 2, ob = 20;
	SHOW("copy_file_range", copy_file_range(in, &ia, out, &ob, 5, 0));
	SHOW("offsets", ia * 100 + ob);
	SHOW("copy_file_range bad flags", copy_file_range(in, NULL, out, NULL, 5, 1));
	SHOW("copy_file_range to pipe", copy_file_range(in, NULL, p[1], NULL, 5, 0));
	struct stat st;
	fstat(out, &st);
	SHOW("output size", st.st_size);
	remove_tmpdir();
	return 0;
}
