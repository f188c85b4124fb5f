#include <sqlite3.h>
#include "CSQLiteSettings.h"

// sqlite3_config is variadic, so Swift cannot call it: this is the one place that does.
int nurture_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
