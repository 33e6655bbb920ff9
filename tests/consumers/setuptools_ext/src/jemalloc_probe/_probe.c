/* A Python extension that allocates through jemalloc-sys's library (prefixed API).
 *
 * hold(n) -> address of n bytes from mallocx; usable(addr) -> sallocx (jemalloc's own view);
 * release(addr) frees; library() -> the file that provides mallctl, found with dladdr.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>

/* The library's symbols are prefixed (_rjem_mallocx...); this makes jemalloc.h offer them as je_*. */
#define JEMALLOC_NO_DEMANGLE
#include <jemalloc/jemalloc.h>

static PyObject *probe_hold(PyObject *self, PyObject *arg) {
    size_t n = PyLong_AsSize_t(arg);
    if (n == (size_t)-1 && PyErr_Occurred()) {
        return NULL;
    }
    void *p = je_mallocx(n, 0);
    if (p == NULL) {
        return PyErr_NoMemory();
    }
    memset(p, 0xa5, n); /* touch it: the pages are really ours */
    return PyLong_FromVoidPtr(p);
}

static PyObject *probe_usable(PyObject *self, PyObject *arg) {
    void *p = PyLong_AsVoidPtr(arg);
    if (p == NULL) {
        return NULL;
    }
    return PyLong_FromSize_t(je_sallocx(p, 0));
}

static PyObject *probe_release(PyObject *self, PyObject *arg) {
    void *p = PyLong_AsVoidPtr(arg);
    if (p == NULL) {
        return NULL;
    }
    je_dallocx(p, 0);
    Py_RETURN_NONE;
}

static PyObject *probe_library(PyObject *self, PyObject *unused) {
    const char *version = NULL;
    size_t len = sizeof(version);
    if (je_mallctl("version", (void *)&version, &len, NULL, 0) != 0) {
        PyErr_SetString(PyExc_OSError, "je_mallctl(\"version\") failed");
        return NULL;
    }
    Dl_info info;
    if (!dladdr(version, &info) || info.dli_fname == NULL) {
        PyErr_SetString(PyExc_OSError, "dladdr found no library for jemalloc's version string");
        return NULL;
    }
    return PyUnicode_DecodeFSDefault(info.dli_fname);
}

static PyMethodDef methods[] = {
    {"hold", probe_hold, METH_O, "Allocate n bytes with mallocx; return the address."},
    {"usable", probe_usable, METH_O, "sallocx of an address from hold()."},
    {"release", probe_release, METH_O, "dallocx an address from hold()."},
    {"library", probe_library, METH_NOARGS, "Path of the library that answered mallctl."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_probe", NULL, -1, methods};

PyMODINIT_FUNC PyInit__probe(void) { return PyModule_Create(&module); }
