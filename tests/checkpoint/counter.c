/* A program whose state a checkpoint must carry over whole. It counts in
 * a loop; each tick it appends the count to a file on tmpfs (/tmp), sends
 * it through a pipe to a thread and through another to a child process,
 * each blocked in read() until it comes, and waits (blocked in read()
 * again) for their running sums. A SIGALRM handler re-arms alarm(1), so an
 * alarm is always pending; a SIGUSR1 handler counts what the test sends.
 *
 * Each tick prints one line:
 *   tick=N pid=P tid=T child=C file=OFFSET/ok|BAD thread_sum=S child_sum=S
 *   alarms=A usr1=U
 * where OFFSET is the file offset after the write (9 bytes a tick), "ok"
 * says the whole file reads back as 1..N, and the sums are those of 1..N.
 * Usage: counter [TICK_MS] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1;
static int to_thread[2], from_thread[2], to_child[2], from_child[2];
static volatile long thread_tid;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
    alarm(1);
}

static void on_usr1(int sig) {
    (void)sig;
    usr1++;
}

/* read() exactly n bytes, going on after a signal. */
static int read_full(int fd, void *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, (const char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += r;
    }
    return 0;
}

/* Receives counts, answers with the running sum. */
static void serve_sums(int in, int out) {
    long sum = 0, n;
    while (read_full(in, &n, sizeof n) == 0) {
        sum += n;
        if (write_full(out, &sum, sizeof sum) != 0)
            break;
    }
}

static void *thread_main(void *arg) {
    (void)arg;
    thread_tid = syscall(SYS_gettid);
    serve_sums(to_thread[0], from_thread[1]);
    return NULL;
}

/* Whether the file holds exactly the lines 1..n, as written. */
static int file_ok(int fd, long n) {
    static char buf[9 * 100000 + 1];
    long len = 9 * n;
    if (len >= (long)sizeof buf)
        return 0;
    if (pread(fd, buf, len + 1, 0) != len)
        return 0;
    for (long i = 1; i <= n; i++) {
        char want[32];
        snprintf(want, sizeof want, "%08ld\n", i);
        if (memcmp(buf + 9 * (i - 1), want, 9) != 0)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    long tick_ms = argc > 1 ? atol(argv[1]) : 50;
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    int fd = open("/tmp/counter.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("open /tmp/counter.txt");
        return 1;
    }
    if (pipe(to_thread) || pipe(from_thread) || pipe(to_child) || pipe(from_child)) {
        perror("pipe");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        close(to_child[1]);
        close(from_child[0]);
        serve_sums(to_child[0], from_child[1]);
        _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    pthread_t th;
    if (pthread_create(&th, NULL, thread_main, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    alarm(1);

    for (long n = 1;; n++) {
        char line[32];
        snprintf(line, sizeof line, "%08ld\n", n);
        if (write_full(fd, line, 9) != 0) {
            perror("write /tmp/counter.txt");
            return 1;
        }
        long off = lseek(fd, 0, SEEK_CUR);
        long thread_sum = -1, child_sum = -1;
        if (write_full(to_thread[1], &n, sizeof n) || read_full(from_thread[0], &thread_sum, sizeof thread_sum) ||
            write_full(to_child[1], &n, sizeof n) || read_full(from_child[0], &child_sum, sizeof child_sum)) {
            perror("pipe to thread or child");
            return 1;
        }
        printf("tick=%ld pid=%d tid=%ld child=%d file=%ld/%s thread_sum=%ld child_sum=%ld alarms=%d usr1=%d\n", n,
               (int)getpid(), (long)thread_tid, (int)child, off, file_ok(fd, n) ? "ok" : "BAD", thread_sum, child_sum,
               (int)alarms, (int)usr1);
        struct timespec ts = {tick_ms / 1000, (tick_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}
