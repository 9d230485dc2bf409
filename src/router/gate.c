/* gate.c - per-model concurrency limits with a bounded FIFO queue, shared by every worker
 * thread (one mutex; each call is a table lookup and a few stores).
 *
 * A freed slot goes to the first waiter directly (the count in flight does not drop), so a
 * newcomer cannot overtake the queue. The waiter is woken through its ready() callback,
 * called under the lock: hr_gate_cancel() then knows for certain whether the slot was
 * handed over, and the waiter's memory is never touched after it has left the queue.
 * ready() only activates an event of the waiter's loop, which takes libevent's own lock and
 * never ours, so the order of the two locks is always gate, then loop. */
#include <pthread.h>
#include <stdlib.h>

#include "core/limits.h"
#include "core/nametab.h"
#include "router/router.h"

enum { W_IDLE, W_QUEUED, W_GRANTED };

struct gate {
	int inflight, queued;
	int limit; /* as of the latest enter */
	struct hr_gate_waiter *head, *tail;
};

struct hr_gates {
	pthread_mutex_t mu;
	struct hr_nametab tab; /* name -> struct gate */
};

struct hr_gates *hr_gates_new(void)
{
	struct hr_gates *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	if (pthread_mutex_init(&g->mu, NULL) != 0) {
		free(g);
		return NULL;
	}
	hr_nametab_init(&g->tab, sizeof(struct gate), HR_MAX_MODELS);
	return g;
}

void hr_gates_free(struct hr_gates *g)
{
	if (!g)
		return;
	hr_nametab_free(&g->tab);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void unlink_waiter(struct gate *e, struct hr_gate_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		e->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		e->tail = w->prev;
	w->next = w->prev = NULL;
	e->queued--;
}

enum hr_gate_rc hr_gate_enter(struct hr_gates *g, const char *model, int limit, int max_queue,
                              struct hr_gate_waiter *w)
{
	if (!g)
		return HR_GATE_GO;
	enum hr_gate_rc rc = HR_GATE_GO;
	pthread_mutex_lock(&g->mu);
	struct gate *e = hr_nametab_add(&g->tab, model);
	if (!e) { /* past the cap of names or out of memory: not tracked, not limited */
		pthread_mutex_unlock(&g->mu);
		return HR_GATE_GO;
	}
	e->limit = limit > 0 ? limit : 0;
	if (e->limit == 0 || (e->inflight < e->limit && !e->head)) {
		e->inflight++;
	} else if (w && e->queued < max_queue) {
		w->state = W_QUEUED;
		w->next = NULL;
		w->prev = e->tail;
		if (e->tail)
			e->tail->next = w;
		else
			e->head = w;
		e->tail = w;
		e->queued++;
		rc = HR_GATE_QUEUED;
	} else {
		rc = HR_GATE_FULL;
	}
	pthread_mutex_unlock(&g->mu);
	return rc;
}

bool hr_gate_cancel(struct hr_gates *g, const char *model, struct hr_gate_waiter *w)
{
	if (!g)
		return true;
	pthread_mutex_lock(&g->mu);
	bool waiting = w->state == W_QUEUED;
	struct gate *e = waiting ? hr_nametab_find(&g->tab, model) : NULL;
	if (e)
		unlink_waiter(e, w);
	if (waiting)
		w->state = W_IDLE;
	pthread_mutex_unlock(&g->mu);
	return waiting;
}

void hr_gate_leave(struct hr_gates *g, const char *model)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	struct gate *e = hr_nametab_find(&g->tab, model);
	if (e) {
		/* hand the slot on while the limit (perhaps lowered by a reload) allows one */
		struct hr_gate_waiter *w = e->head;
		if (w && (e->limit == 0 || e->inflight <= e->limit)) {
			unlink_waiter(e, w);
			w->state = W_GRANTED;
			w->ready(w->arg);
		} else if (e->inflight > 0) {
			e->inflight--;
		}
	}
	pthread_mutex_unlock(&g->mu);
}

void hr_gate_load(struct hr_gates *g, const char *model, int *inflight, int *queued)
{
	*inflight = *queued = 0;
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	struct gate *e = hr_nametab_find(&g->tab, model);
	if (e)
		*inflight = e->inflight, *queued = e->queued;
	pthread_mutex_unlock(&g->mu);
}
