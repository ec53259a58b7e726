/*
 * plugin.c: guest clock readers supplied by the user as C source files or shared objects
 * (README "Reader plugins").
 *
 * A scenario names a reader by path (`reader = "readers/my_pvclock.c"`). A C source is compiled
 * with the system compiler against the same guest environment the built-in readers use
 * (models/guest/env.h and models/abi/), into a shared object cached by the FNV-1a hash of the
 * source, every header and the compiler command, so an unchanged reader is built once. A `.so`
 * is used as it is. The object must export
 *
 *     int vtsim_reader(u64 *ns);          0: *ns is the clock; 1: refused (fell back)
 *     void vtsim_reader_resume(void);     optional: the guest resumed (pvclock_resume)
 *
 * and reaches the machine only through env.h (rdtsc(), this_cpu_pvti(), READ_ONCE(), ...), whose
 * functions bin/sim exports (-rdynamic). Per-VM state is the object's own static data: every
 * arm loads a private copy of the object, so statics (a global clamp) start zeroed in each arm,
 * as in a freshly booted kernel.
 *
 * Failures are input errors (exit 2) with the compiler's own messages: a source that does not
 * compile, an object that cannot be loaded, lacks vtsim_reader, or crashes while loading (the
 * first load is tried in a child process, so a crashing constructor cannot take bin/sim down).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin.h"
#include "util.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static const char *const env_headers[] = {
	"guest/env.h", "guest/envcore.h", "abi/types.h", "abi/pvclock.h", "abi/hyperv.h",
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* The models/ directory: $VTSIM_MODELS, else found upward from the executable. */
static bool find_models(char *out, size_t len)
{
	return util_find_dir("VTSIM_MODELS", "models", "guest/env.h", out, len);
}

static const char *cache_dir(char *buf, size_t len)
{
	const char *xdg = getenv("VTSIM_CACHE"), *home;

	if (xdg && *xdg) {
		snprintf(buf, len, "%s", xdg);
	} else if ((xdg = getenv("XDG_CACHE_HOME")) && *xdg) {
		snprintf(buf, len, "%s/vtsim", xdg);
	} else if ((home = getenv("HOME")) && *home) {
		snprintf(buf, len, "%s/.cache/vtsim", home);
	} else {
		snprintf(buf, len, "/tmp/vtsim-%ld", (long)getuid());
	}
	return buf;
}

/* mkdir -p */
static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool plugin_is_path(const char *name)
{
	return ends_with(name, ".c") || ends_with(name, ".so") || strchr(name, '/') != NULL;
}

/* Runs argv with stderr (and stdout) into errfile; returns the exit status or -1. */
static int run(char *const argv[], const char *errfile)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Tries dlopen + dlsym in a child process: a crash there is reported, not suffered. */
static int trial_load(const char *so, char *msg, size_t len)
{
	int fds[2];
	pid_t pid;
	int status;
	char buf[400] = "";
	ssize_t n;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		void *h;

		close(fds[0]);
		h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			const char *e = dlerror();

			if (write(fds[1], e, strlen(e)) < 0)
				_exit(3);
			_exit(1);
		}
		if (!dlsym(h, "vtsim_reader"))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status)) {
		snprintf(msg, len, "crashed while loading (signal %d, %s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
		return 1;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		return 0;
	case 2:
		snprintf(msg, len, "does not export the entry point `int vtsim_reader(u64 *ns)`");
		return 1;
	default:
		snprintf(msg, len, "cannot be loaded: %s", buf);
		return 1;
	}
}

int plugin_prepare(const char *name, const char *scenario_path, struct plugin_info *out,
		   char *msg, size_t msglen)
{
	char src[PATH_MAX], models[PATH_MAX + 16], cache[PATH_MAX], so[PATH_MAX + 64], tmp[PATH_MAX + 96];
	char inc[PATH_MAX + 24], errfile[PATH_MAX + 96];
	const char *cc = getenv("CC");
	char *text;
	size_t len;
	uint64_t h = FNV_OFFSET;

	memset(out, 0, sizeof(*out));
	/* A relative path is relative to the scenario file's directory. */
	if (name[0] != '/' && scenario_path && strchr(scenario_path, '/')) {
		int dl = (int)(strrchr(scenario_path, '/') - scenario_path);

		snprintf(src, sizeof(src), "%.*s/%s", dl, scenario_path, name);
	} else {
		snprintf(src, sizeof(src), "%s", name);
	}
	text = util_slurp(src, &len);
	if (!text) {
		snprintf(msg, msglen, "reader plugin '%s': cannot read %s: %s", name, src,
			 strerror(errno));
		return VT_EINPUT;
	}
	h = fnv(h, text, len);
	free(text);
	if (ends_with(src, ".so")) {
		snprintf(out->so_path, sizeof(out->so_path), "%s", src);
	} else {
		if (!find_models(models, sizeof(models))) {
			snprintf(msg, msglen, "reader plugin '%s': cannot find vtsim's models/ headers "
					      "(set VTSIM_MODELS)", name);
			return VT_EINPUT;
		}
		if (!cc || !*cc)
			cc = "cc";
		/* The cache key covers the source, every environment header and the compiler. */
		for (size_t i = 0; i < VT_ARRAY_SIZE(env_headers); i++) {
			char hp[PATH_MAX + 64];

			snprintf(hp, sizeof(hp), "%s/%s", models, env_headers[i]);
			text = util_slurp(hp, &len);
			if (!text) {
				snprintf(msg, msglen, "reader plugin '%s': cannot read %s", name, hp);
				return VT_EINPUT;
			}
			h = fnv(h, text, len);
			free(text);
		}
		h = fnv(h, cc, strlen(cc));
		cache_dir(cache, sizeof(cache));
		if (mkdirs(cache) != 0) {
			snprintf(msg, msglen, "reader plugin '%s': cannot create cache %s: %s", name,
				 cache, strerror(errno));
			return VT_EIO;
		}
		snprintf(so, sizeof(so), "%s/reader-%016llx.so", cache, (unsigned long long)h);
		if (access(so, R_OK) != 0) {
			char *argv[16];
			int n = 0, st;

			snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", so, (long)getpid());
			snprintf(errfile, sizeof(errfile), "%s.%ld.err", so, (long)getpid());
			snprintf(inc, sizeof(inc), "-I%s", models);
			argv[n++] = (char *)cc;
			argv[n++] = "-std=gnu11";
			argv[n++] = "-O2";
			argv[n++] = "-fPIC";
			argv[n++] = "-shared";
			argv[n++] = "-Wall";
			argv[n++] = inc;
			argv[n++] = "-o";
			argv[n++] = tmp;
			argv[n++] = src;
			argv[n] = NULL;
			st = run(argv, errfile);
			if (st != 0) {
				size_t elen = 0;
				char *err = util_slurp(errfile, &elen);

				snprintf(msg, msglen, "reader plugin '%s' failed to compile (%s exited %d):\n%s",
					 name, cc, st, err ? err : "");
				free(err);
				unlink(errfile);
				unlink(tmp);
				return VT_EINPUT;
			}
			unlink(errfile);
			if (rename(tmp, so) != 0) {
				snprintf(msg, msglen, "reader plugin '%s': cannot store %s: %s", name, so,
					 strerror(errno));
				unlink(tmp);
				return VT_EIO;
			}
		}
		snprintf(out->so_path, sizeof(out->so_path), "%s", so);
	}
	out->hash = h;
	{
		char why[512];
		int rc = trial_load(out->so_path, why, sizeof(why));

		if (rc < 0) {
			snprintf(msg, msglen, "reader plugin '%s': cannot test-load: %s", name,
				 strerror(errno));
			return VT_EIO;
		}
		if (rc > 0) {
			snprintf(msg, msglen, "reader plugin '%s' %s", name, why);
			return VT_EINPUT;
		}
	}
	return VT_OK;
}

/* ---- the adapter: a plugin as a reader ------------------------------------------------ */

struct plugin_reader {
	void *handle;
	int (*read)(u64 *ns);
	void (*resume)(void);
};

static int plugin_init(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts)
{
	struct plugin_reader *s = r->state;
	char copy[PATH_MAX + 64];
	char *data;
	size_t len;
	FILE *f;
	int fd;

	(void)opts;
	if (!ctx->plugin_so)
		return VT_EINPUT;
	/* A private copy per arm, so the object's statics start afresh (dlopen of the same path
	 * would return the already loaded instance). */
	data = util_slurp(ctx->plugin_so, &len);
	if (!data)
		return VT_EIO;
	snprintf(copy, sizeof(copy), "%s.XXXXXX", ctx->plugin_so);
	fd = mkstemp(copy);
	if (fd < 0) {
		free(data);
		return VT_EIO;
	}
	f = fdopen(fd, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		free(data);
		unlink(copy);
		return VT_EIO;
	}
	free(data);
	s->handle = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	unlink(copy); /* mapped: the file is no longer needed */
	if (!s->handle)
		return VT_EIO;
	*(void **)&s->read = dlsym(s->handle, "vtsim_reader");
	*(void **)&s->resume = dlsym(s->handle, "vtsim_reader_resume");
	return s->read ? VT_OK : VT_EIO;
}

static void plugin_fini(struct reader *r)
{
	struct plugin_reader *s = r->state;

	if (s->handle)
		dlclose(s->handle);
	s->handle = NULL;
}

static void plugin_reset(struct reader *r)
{
	struct plugin_reader *s = r->state;

	if (s->resume)
		s->resume();
}

static enum read_status plugin_read(struct reader *r, uint64_t *ns)
{
	struct plugin_reader *s = r->state;
	u64 v = 0;
	int rc = s->read(&v);

	*ns = v;
	return rc == 0 ? READ_OK : READ_FALLBACK;
}

/* A plugin's state lives in its own shared object's globals: it cannot be snapshotted. */
static int plugin_copy_state(struct reader *dst, const struct reader *src)
{
	(void)dst;
	(void)src;
	return 1;
}

const struct reader_ops reader_plugin = {
	.version = READER_OPS_VERSION,
	.name = "plugin",
	.describe = "a reader compiled from the user's C source against env.h (README)",
	.state_size = sizeof(struct plugin_reader),
	.init = plugin_init,
	.fini = plugin_fini,
	.reset = plugin_reset,
	.read = plugin_read,
	.copy_state = plugin_copy_state,
};
