/* est_slab_cache.c -- process-wide cache of idle slab memory (est_stream.h, "Slab cache"). */
#include "estcore/est_stream.h"
#include "est_stream_internal.h"

#include <pthread.h>
#include <stdlib.h>

/* ---- process-wide cache of idle slab memory ------------------------------ */

/* Freed slabs are kept (up to EST_SLAB_CACHE_BYTES, exact sizes) so the next
 * stream of the same shapes reuses memory whose pages are already faulted in
 * instead of paying a page fault per 4 KiB again. Process-wide and mutable:
 * guarded by cache_lock. Lock order: a stream's lock may be held while taking
 * cache_lock, never the other way round. The fork child handler resets it. */
typedef struct cached_mem {
    struct cached_mem *next;
    size_t bytes;
} cached_mem;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_mem *cache_head;  /* guarded by cache_lock */
static size_t cache_bytes;      /* guarded by cache_lock */

void *est__slab_mem_get(size_t bytes) {
    pthread_mutex_lock(&cache_lock);
    for (cached_mem **p = &cache_head; *p != NULL; p = &(*p)->next) {
        if ((*p)->bytes == bytes) {
            cached_mem *hit = *p;
            *p = hit->next;
            cache_bytes -= bytes;
            pthread_mutex_unlock(&cache_lock);
            return hit;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    void *mem = NULL;
    return posix_memalign(&mem, SLAB_HEADER, bytes) == 0 ? mem : NULL;
}

void est__slab_mem_put(void *mem, size_t bytes) {
    pthread_mutex_lock(&cache_lock);
    if (cache_bytes + bytes <= EST_SLAB_CACHE_BYTES) {
        cached_mem *c = mem;
        c->bytes = bytes;
        c->next = cache_head;
        cache_head = c;
        cache_bytes += bytes;
        mem = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    free(mem);
}

void est_slab_cache_trim(void) {
    pthread_mutex_lock(&cache_lock);
    cached_mem *list = cache_head;
    cache_head = NULL;
    cache_bytes = 0;
    pthread_mutex_unlock(&cache_lock);
    while (list != NULL) {
        cached_mem *next = list->next;
        free(list);
        list = next;
    }
}

size_t est_slab_cache_bytes(void) {
    pthread_mutex_lock(&cache_lock);
    size_t n = cache_bytes;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void est__slab_cache_after_fork(void) {
    /* Runs in a fork child. The cache lock may have been held by a thread that
     * does not exist here: start with a fresh, empty cache (the entries leak). */
    pthread_mutex_init(&cache_lock, NULL);
    cache_head = NULL;
    cache_bytes = 0;
}
