/* loadgen.c - a loopback short-connection load with a known rate: a server
 * process (accept, read to EOF, reply 64 bytes, close) and C client processes
 * (connect, send 64 bytes, read the reply, close) for D seconds. Prints
 * "connections N seconds S rate R". Loopback only, bounded by D. RATE
 * paces each client to that many connections per second (0: as fast as it
 * can).
 *   loadgen [SECONDS] [CLIENTS] [RATE] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10, t0;
	int clients = argc > 2 ? atoi(argv[2]) : 1, one = 1;
	double rate = argc > 3 ? atof(argv[3]) : 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	long *counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	long total = 0;
	pid_t srv;

	if (secs <= 0 || secs > 3600 || clients < 1 || clients > 64 || rate < 0 ||
	    counts == MAP_FAILED) {
		fprintf(stderr, "usage: loadgen [SECONDS<=3600] [CLIENTS<=64] [RATE]\n");
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("loadgen: listen");
		return 1;
	}
	srv = fork();
	if (srv == 0) {
		char buf[512];

		memset(buf, 'x', sizeof(buf));
		for (;;) {
			int s = accept(lfd, NULL, NULL);

			if (s < 0)
				continue;
			while (read(s, buf, sizeof(buf)) > 0)
				;
			if (write(s, buf, 64) < 0)
				(void)0;
			close(s);
		}
	}
	close(lfd);
	t0 = now_s();
	for (int c = 0; c < clients; c++) {
		if (fork() == 0) {
			char buf[64];
			long n = 0;

			memset(buf, 'y', sizeof(buf));
			while (now_s() - t0 < secs) {
				int s = socket(AF_INET, SOCK_STREAM, 0);
				struct linger l = { 1, 0 };

				/* the client resets instead of TIME_WAIT, or a long
				 * run exhausts the ephemeral ports */
				setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
				if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
				    write(s, buf, sizeof(buf)) == sizeof(buf)) {
					shutdown(s, SHUT_WR);
					if (read(s, buf, sizeof(buf)) > 0)
						n++;
				}
				close(s);
				/* paced: sleep until the next connection is due */
				if (rate > 0) {
					double due = t0 + (double)(n + 1) / rate, now = now_s();

					if (due > now) {
						struct timespec ts = { (time_t)(due - now),
							(long)((due - now - (double)(time_t)(due - now)) * 1e9) };

						nanosleep(&ts, NULL);
					}
				}
			}
			counts[c] = n;
			_exit(0);
		}
	}
	for (int c = 0; c < clients; c++)
		wait(NULL);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	for (int c = 0; c < clients; c++)
		total += counts[c];
	printf("connections %ld seconds %.2f rate %.0f\n", total, now_s() - t0,
	       (double)total / (now_s() - t0));
	return 0;
}
