/*
 * notify.c — sd_notify(3) without libsystemd: the protocol is one
 * datagram of newline-separated VAR=value assignments sent to the UNIX
 * socket named by $NOTIFY_SOCKET (a path, or an abstract name when it
 * starts with '@').  Type=notify units wait for READY=1; RELOADING=1 and
 * STOPPING=1 tell the manager what the daemon is doing, STATUS= what to
 * show in systemctl status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "env_real/env_real.h"

int env_real_notify(const char *fmt, ...)
{
	const char *where = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t salen;
	char msg[512];
	va_list ap;
	size_t n;
	int fd, rc = 0;

	if (!where || !where[0])
		return 0;
	n = strlen(where);
	if ((where[0] != '/' && where[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, where, n);
	if (where[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			    (where[0] == '/'));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   salen) < 0)
		rc = -errno;
	close(fd);
	return rc;
}
