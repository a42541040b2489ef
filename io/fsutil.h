/*
 * fsutil.h — small file-system operations with errors in the project's
 * style (0, or −1 with a message naming the path).
 */
#ifndef ZEROPT_FSUTIL_H
#define ZEROPT_FSUTIL_H

#include <stddef.h>

/* mkdir -p */
int fs_mkdir_p(const char *dir, char *err, size_t errlen);
/* fsync a file or a directory by path; 0 on success, −1 with errno. */
int fs_fsync_path(const char *path);

#endif
