#ifndef NURTURE_CSQLITE_SETTINGS_H
#define NURTURE_CSQLITE_SETTINGS_H

/// Turns off SQLite's process-wide memory statistics. With them on (the library's default),
/// every allocation by every connection takes one global mutex, so a worker's readers and its
/// writer queue on it. Nurture never reads those statistics. Effective only before SQLite
/// initialises; returns 0 (SQLITE_OK) when it took effect.
int nurture_sqlite_disable_memory_statistics(void);

#endif
