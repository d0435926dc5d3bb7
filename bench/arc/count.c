// LD_PRELOAD interposer for bench/arc-count: counts the Swift runtime's swift_retain, swift_release
// and swift_allocObject calls a program makes, per calling address, while counting is on. The
// program calls these through the PLT, so defining them here catches every call from its own code
// (the runtime's internal calls are not counted). Control: a thread polls the file named by
// ARC_COUNT_CONTROL for "on", "off" or "dump PATH" (then creates PATH.done).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { RETAIN, RELEASE, ALLOC, KINDS };
#define SLOTS (1 << 16)
typedef struct { uintptr_t address; unsigned long calls; } Slot;
static Slot table[KINDS][SLOTS];
static volatile int counting;

// Open addressing without locks: a slot's address is claimed once by compare-and-swap.
static void note(int kind, uintptr_t address) {
    if (!counting) return;
    for (uintptr_t h = (address * 0x9E3779B97F4A7C15ull) >> 48;; h++) {
        Slot *slot = &table[kind][h & (SLOTS - 1)];
        uintptr_t seen = __atomic_load_n(&slot->address, __ATOMIC_RELAXED);
        if (seen == 0 && __atomic_compare_exchange_n(&slot->address, &seen, address, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            seen = address;
        if (seen == address) { __atomic_fetch_add(&slot->calls, 1, __ATOMIC_RELAXED); return; }
    }
}

#define CALLER ((uintptr_t)__builtin_return_address(0))
typedef void *(*Retain)(void *);
typedef void (*Release)(void *);
typedef void *(*RetainN)(void *, uint32_t);
typedef void (*ReleaseN)(void *, uint32_t);
typedef void *(*Alloc)(void *, size_t, size_t);
#define REAL(type, name) static type real; if (!real) real = (type)dlsym(RTLD_NEXT, name)

void *swift_retain(void *object) { REAL(Retain, "swift_retain"); note(RETAIN, CALLER); return real(object); }
void swift_release(void *object) { REAL(Release, "swift_release"); note(RELEASE, CALLER); real(object); }
void *swift_retain_n(void *object, uint32_t n) { REAL(RetainN, "swift_retain_n"); note(RETAIN, CALLER); return real(object, n); }
void swift_release_n(void *object, uint32_t n) { REAL(ReleaseN, "swift_release_n"); note(RELEASE, CALLER); real(object, n); }
void *swift_allocObject(void *metadata, size_t size, size_t alignment) {
    REAL(Alloc, "swift_allocObject"); note(ALLOC, CALLER); return real(metadata, size, alignment);
}

static void dump(const char *path) {
    static const char *names[KINDS] = { "retain", "release", "alloc" };
    FILE *out = fopen(path, "w");
    if (!out) return;
    for (int kind = 0; kind < KINDS; kind++)
        for (int i = 0; i < SLOTS; i++)
            if (table[kind][i].address) fprintf(out, "%s %lx %lu\n", names[kind], (unsigned long)table[kind][i].address, table[kind][i].calls);
    fclose(out);
    char done[4200];
    snprintf(done, sizeof done, "%s.done", path);
    fclose(fopen(done, "w"));
}

static void *control(void *path) {
    char line[4096];
    for (;; usleep(20000)) {
        FILE *file = fopen(path, "r");
        if (!file) continue;
        char *got = fgets(line, sizeof line, file);
        fclose(file);
        unlink(path);
        if (!got) continue;
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "on") == 0) counting = 1;
        else if (strcmp(line, "off") == 0) counting = 0;
        else if (strncmp(line, "dump ", 5) == 0) dump(line + 5);
    }
    return 0;
}

__attribute__((constructor)) static void start(void) {
    const char *path = getenv("ARC_COUNT_CONTROL");
    if (!path) return;
    pthread_t thread;
    pthread_create(&thread, 0, control, strdup(path));
    pthread_detach(thread);
}
