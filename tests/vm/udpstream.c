/*
 * A numbered UDP stream for measuring outages inside the test VM, where
 * there is no python3 for tests/tools/udpstream.py. Same idea, same wire
 * format (magic, kind, run id, seq or total, send time ns, interval us;
 * network byte order), fewer features:
 *
 *   udpstream send ADDR PORT INTERVAL_MS DURATION_MS
 *   udpstream recv PORT TIMEOUT_MS
 *
 * `send` sends a datagram every INTERVAL_MS for DURATION_MS, then 5 FINs
 * carrying the total. `recv` stops 200 ms after the first FIN, after 10 s
 * of silence once packets flowed, or at TIMEOUT_MS, and prints one line:
 *
 *   sent N received N lost N longest_gap_ms X.X
 *
 * The outage is the longest interval between two consecutive arrivals.
 * Built static with zig cc (the cross toolchain) by scripts/vm/test-vm.sh.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { KIND_DATA = 0, KIND_FIN = 1, HEADER = 32, SIZE = 64, FINS = 5 };
#define MAX_SEQ 10000000u

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / 1000000000, .tv_nsec = t % 1000000000 };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static int cmd_send(const char *addr, int port, long interval_ms, long duration_ms)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, addr, &to.sin_addr) != 1 || interval_ms <= 0 || duration_ms <= 0) {
		fprintf(stderr, "udpstream: bad address, interval or duration\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	/* Connected: the kernel sends nowhere else. */
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
		perror("udpstream: socket");
		return 1;
	}
	uint32_t run = (uint32_t)now_ns() ^ (uint32_t)getpid() << 16;
	uint32_t count = (uint32_t)((duration_ms + interval_ms - 1) / interval_ms);
	unsigned char pkt[SIZE] = "VWUS";
	put32(pkt + 8, run);
	put32(pkt + 28, (uint32_t)(interval_ms * 1000));
	int64_t start = now_ns();
	for (uint32_t seq = 0; seq <= count + FINS - 1; seq++) {
		int fin = seq >= count;
		sleep_until(fin ? now_ns() + 10000000 : start + (int64_t)seq * interval_ms * 1000000);
		pkt[4] = fin ? KIND_FIN : KIND_DATA;
		put32(pkt + 12, fin ? count : seq);
		put64(pkt + 16, (uint64_t)now_ns());
		/* Unreachable, refused, no buffer: the receiver counts the hole. */
		(void)send(s, pkt, sizeof pkt, 0);
	}
	printf("sent %u\n", count);
	return 0;
}

static int cmd_recv(int port, long timeout_ms)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof me) != 0) {
		perror("udpstream: bind");
		return 1;
	}
	unsigned char *seen = calloc(MAX_SEQ, 1);
	if (!seen)
		return 1;
	int64_t hard = now_ns() + (int64_t)timeout_ms * 1000000, fin_at = 0, last = 0, gap = 0;
	uint32_t run = 0, max_seq = 0, received = 0, total = 0;
	int have_run = 0, have_total = 0;
	for (;;) {
		int64_t t = now_ns(), deadline = hard;
		if (last && last + 10000000000LL < deadline)
			deadline = last + 10000000000LL;
		if (fin_at && fin_at < deadline)
			deadline = fin_at;
		if (t >= deadline)
			break;
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, (int)((deadline - t) / 1000000) + 1) <= 0)
			continue;
		unsigned char pkt[SIZE];
		ssize_t n = recv(s, pkt, sizeof pkt, 0);
		t = now_ns();
		if (n < HEADER || memcmp(pkt, "VWUS", 4) != 0)
			continue;
		if (!have_run) {
			run = get32(pkt + 8);
			have_run = 1;
		}
		uint32_t seq = get32(pkt + 12);
		if (get32(pkt + 8) != run)
			continue;
		if (pkt[4] == KIND_FIN) {
			total = seq;
			have_total = 1;
			if (!fin_at)
				fin_at = t + 200000000;
			continue;
		}
		if (seq >= MAX_SEQ || seen[seq])
			continue;
		seen[seq] = 1;
		received++;
		if (seq > max_seq)
			max_seq = seq;
		if (last && t - last > gap)
			gap = t - last;
		last = t;
	}
	uint32_t sent = have_total ? total : (received ? max_seq + 1 : 0);
	printf("sent %u received %u lost %u longest_gap_ms %.1f\n", sent, received,
	       sent > received ? sent - received : 0, (double)gap / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "send") == 0)
		return cmd_send(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return cmd_recv(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: udpstream send ADDR PORT INTERVAL_MS DURATION_MS\n"
			"       udpstream recv PORT TIMEOUT_MS\n");
	return 2;
}
