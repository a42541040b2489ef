/*
 * san_keep_modules.c — linked into the sanitizer build only (make SAN=1):
 * dlclose() that keeps the library loaded. Open MPI and PMIx unload their
 * plugins at MPI_Finalize; the leak reports LeakSanitizer prints at exit
 * then name "<unknown module>" for whatever those plugins allocated, and no
 * suppression can tell their leaks from ours. With the plugins still
 * mapped, every frame has its library's name and tests/lib/lsan.supp can
 * suppress exactly Open MPI's, PMIx's and hwloc's own allocations.
 */
int dlclose(void *handle);

int dlclose(void *handle) {
    (void)handle;
    return 0;
}
