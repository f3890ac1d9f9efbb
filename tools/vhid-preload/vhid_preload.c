/*
 * vhid_preload: a virtual hidraw node for tests (LD_PRELOAD).
 *
 * For a path that starts with $ROOTKEY_VHID_PREFIX, open()/open64()/openat() connect a
 * SOCK_SEQPACKET Unix socket to that path (where a virtual authenticator, rootkey-vkey, listens)
 * instead of opening a file, and ioctl() answers the hidraw requests hidapi and python-fido2 make
 * (HIDIOCGRDESCSIZE, HIDIOCGRDESC, HIDIOCGRAWINFO, HIDIOCGRAWNAME, HIDIOCGRAWUNIQ,
 * HIDIOCGRAWPHYS). Reports keep their boundaries on a seqpacket socket, as on a hidraw node:
 * write() sends one output report (report id 0 + 64 bytes), read() returns one 64-byte input
 * report, poll() works unchanged. When the authenticator process goes away (the key is
 * "unplugged"), read() fails with EIO and write() with ENODEV, as hidraw does, and no SIGPIPE
 * is raised. Every other path and descriptor goes to libc untouched.
 *
 * Build: cc -shared -fPIC -O2 -o libvhid_preload.so vhid_preload.c -ldl
 * Test-only: never load it in production.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/hidraw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define VHID_MAX_FD 4096
#define VHID_VENDOR 0x1209  /* pid.codes open-source vendor id */
#define VHID_PRODUCT 0x000A /* not a registered product: a test device */
#define VHID_NAME "rootkey virtual FIDO key"

/* CTAP 2.1 §11.2.8.1: usage page 0xF1D0, usage 0x01, 64-byte input and output reports. */
static const unsigned char report_descriptor[] = {
    0x06, 0xD0, 0xF1, /* Usage Page (FIDO Alliance) */
    0x09, 0x01,       /* Usage (CTAPHID) */
    0xA1, 0x01,       /* Collection (Application) */
    0x09, 0x20,       /*   Usage (Input Report Data) */
    0x15, 0x00,       /*   Logical Minimum (0) */
    0x26, 0xFF, 0x00, /*   Logical Maximum (255) */
    0x75, 0x08,       /*   Report Size (8) */
    0x95, 0x40,       /*   Report Count (64) */
    0x81, 0x02,       /*   Input (Data, Variable, Absolute) */
    0x09, 0x21,       /*   Usage (Output Report Data) */
    0x15, 0x00,       /*   Logical Minimum (0) */
    0x26, 0xFF, 0x00, /*   Logical Maximum (255) */
    0x75, 0x08,       /*   Report Size (8) */
    0x95, 0x40,       /*   Report Count (64) */
    0x91, 0x02,       /*   Output (Data, Variable, Absolute) */
    0xC0,             /* End Collection */
};

static volatile unsigned char virtual_fd[VHID_MAX_FD];
static char virtual_path[VHID_MAX_FD][108];

static int is_virtual_fd(int fd) { return fd >= 0 && fd < VHID_MAX_FD && virtual_fd[fd]; }

static int is_virtual_path(const char *path) {
    const char *prefix = getenv("ROOTKEY_VHID_PREFIX");
    if (prefix == NULL || *prefix == '\0' || path == NULL)
        return 0;
    return strncmp(path, prefix, strlen(prefix)) == 0;
}

static int connect_node(const char *path, int flags) {
    struct sockaddr_un addr;
    int type = SOCK_SEQPACKET;
    int fd, saved;
    if ((flags & O_ACCMODE) != O_RDWR && (flags & O_ACCMODE) != O_WRONLY &&
        (flags & O_ACCMODE) != O_RDONLY) {
        errno = EINVAL;
        return -1;
    }
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (flags & O_CLOEXEC)
        type |= SOCK_CLOEXEC;
    if (flags & O_NONBLOCK)
        type |= SOCK_NONBLOCK;
    fd = socket(AF_UNIX, type, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        saved = errno;
        close(fd);
        /* A socket left behind by a dead authenticator is an unplugged key. */
        errno = (saved == ECONNREFUSED) ? ENODEV : saved;
        return -1;
    }
    if (fd >= VHID_MAX_FD) {
        close(fd);
        errno = EMFILE;
        return -1;
    }
    strncpy(virtual_path[fd], path, sizeof(virtual_path[fd]) - 1);
    virtual_fd[fd] = 1;
    return fd;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

static int open_common(const char *fn, const char *path, int flags, mode_t mode) {
    typedef int (*open_t)(const char *, int, ...);
    if (is_virtual_path(path))
        return connect_node(path, flags);
    return REAL(fn, open_t)(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap) {
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        return (mode_t)va_arg(ap, int);
    return 0;
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common("open", path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return open_common("open64", path, flags, mode);
}

static int openat_common(const char *fn, int dirfd, const char *path, int flags, mode_t mode) {
    typedef int (*openat_t)(int, const char *, int, ...);
    /* Only absolute paths can be under the (absolute) prefix. */
    if (path != NULL && path[0] == '/' && is_virtual_path(path))
        return connect_node(path, flags);
    return REAL(fn, openat_t)(dirfd, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return openat_common("openat", dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return openat_common("openat64", dirfd, path, flags, mode);
}

static int copy_string(void *arg, unsigned int size, const char *s) {
    unsigned int len = (unsigned int)strlen(s) + 1;
    if (len > size)
        len = size;
    memcpy(arg, s, len);
    return (int)len;
}

static int hidraw_ioctl(int fd, unsigned long request, void *arg) {
    unsigned int size = _IOC_SIZE(request);
    if (arg == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (request == HIDIOCGRDESCSIZE) {
        *(int *)arg = (int)sizeof(report_descriptor);
        return 0;
    }
    if (request == HIDIOCGRDESC) {
        struct hidraw_report_descriptor *d = arg;
        if (d->size > HID_MAX_DESCRIPTOR_SIZE) {
            errno = EINVAL;
            return -1;
        }
        unsigned int n = d->size < sizeof(report_descriptor) ? d->size : sizeof(report_descriptor);
        memcpy(d->value, report_descriptor, n);
        return 0;
    }
    if (request == HIDIOCGRAWINFO) {
        struct hidraw_devinfo *info = arg;
        info->bustype = 0x03; /* BUS_USB */
        info->vendor = (__s16)VHID_VENDOR;
        info->product = (__s16)VHID_PRODUCT;
        return 0;
    }
    if (_IOC_TYPE(request) == 'H' && _IOC_DIR(request) == _IOC_READ) {
        const char *base = strrchr(virtual_path[fd], '/');
        base = base ? base + 1 : virtual_path[fd];
        switch (_IOC_NR(request)) {
        case 0x04: /* HIDIOCGRAWNAME(len) */
            return copy_string(arg, size, VHID_NAME);
        case 0x05: /* HIDIOCGRAWPHYS(len) */
            return copy_string(arg, size, "vhid");
        case 0x08: /* HIDIOCGRAWUNIQ(len): the node's name tells keys apart */
            return copy_string(arg, size, base);
        }
    }
    errno = EINVAL;
    return -1;
}

int ioctl(int fd, unsigned long request, ...) {
    typedef int (*ioctl_t)(int, unsigned long, ...);
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (is_virtual_fd(fd))
        return hidraw_ioctl(fd, request, arg);
    return REAL("ioctl", ioctl_t)(fd, request, arg);
}

ssize_t read(int fd, void *buf, size_t count) {
    typedef ssize_t (*read_t)(int, void *, size_t);
    ssize_t n = REAL("read", read_t)(fd, buf, count);
    if (n == 0 && count > 0 && is_virtual_fd(fd)) {
        errno = EIO; /* the peer is gone: hidraw says EIO for a removed device */
        return -1;
    }
    return n;
}

ssize_t write(int fd, const void *buf, size_t count) {
    typedef ssize_t (*write_t)(int, const void *, size_t);
    if (is_virtual_fd(fd)) {
        ssize_t n = send(fd, buf, count, MSG_NOSIGNAL);
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
            errno = ENODEV;
        return n;
    }
    return REAL("write", write_t)(fd, buf, count);
}

int close(int fd) {
    typedef int (*close_t)(int);
    if (fd >= 0 && fd < VHID_MAX_FD)
        virtual_fd[fd] = 0;
    return REAL("close", close_t)(fd);
}
