/*
 * queue_compat.h — <sys/queue.h> plus the _SAFE iterators that BSD has
 * and glibc's copy lacks.
 */
#ifndef UT_QUEUE_COMPAT_H
#define UT_QUEUE_COMPAT_H

#include <sys/queue.h>

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST((head));          \
	     (var) && ((tvar) = TAILQ_NEXT((var), field), 1); (var) = (tvar))
#endif
#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = LIST_FIRST((head));          \
	     (var) && ((tvar) = LIST_NEXT((var), field), 1); (var) = (tvar))
#endif

#endif
