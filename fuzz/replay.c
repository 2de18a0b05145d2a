/*-------------------------------------------------------------------------
 *
 * replay.c
 *	  Runs the fuzz target (segment_decode_fuzzer.c) on saved inputs,
 *	  without libFuzzer, so the test suite can replay the corpus.
 *
 *	  replay PATH...
 *
 * Each PATH is a file or a directory (its regular files, not recursively,
 * in name order).  Every input runs in a forked child on an exact-size heap
 * copy, so a sanitizer report or abort() in one input is counted and the
 * rest still run.  Prints failures as "FAIL name (reason)" and finally one
 * line "replay: N passed, M failed"; exits 1 if M > 0 or nothing ran.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* set when built with clang -fprofile-instr-generate (coverage report) */
extern int	__llvm_profile_write_file(void) __attribute__((weak));

static int	passed;
static int	failed;

static int
read_file(const char *path, uint8_t **data, size_t *size)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		len = 0,
				cap = 0;

	if (f == NULL)
		return -1;
	for (;;)
	{
		size_t		got;

		if (len == cap)
		{
			uint8_t    *nbuf;

			cap = cap ? cap * 2 : 4096;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL)
			{
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

static void
replay_one(const char *path)
{
	pid_t		pid;
	int			status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
	{
		printf("FAIL %s (fork: %s)\n", path, strerror(errno));
		failed++;
		return;
	}
	if (pid == 0)
	{
		uint8_t    *data;
		uint8_t    *copy;
		size_t		size;

		if (read_file(path, &data, &size) != 0)
		{
			fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
			_exit(3);
		}
		/* exact size, so ASan flags a read one past the end */
		copy = malloc(size ? size : 1);
		if (copy == NULL)
			_exit(3);
		memcpy(copy, data, size);
		free(data);
		LLVMFuzzerTestOneInput(copy, size);
		free(copy);
		if (__llvm_profile_write_file)
			__llvm_profile_write_file();
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			printf("FAIL %s (waitpid: %s)\n", path, strerror(errno));
			failed++;
			return;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		passed++;
	else
	{
		if (WIFSIGNALED(status))
			printf("FAIL %s (signal %d)\n", path, WTERMSIG(status));
		else
			printf("FAIL %s (exit %d)\n", path, WEXITSTATUS(status));
		failed++;
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
replay_dir(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	size_t		n = 0,
				cap = 0,
				i;

	if (d == NULL)
	{
		printf("FAIL %s (opendir: %s)\n", dir, strerror(errno));
		failed++;
		return;
	}
	while ((e = readdir(d)) != NULL)
	{
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 256;
			names = realloc(names, cap * sizeof(char *));
			if (names == NULL)
			{
				fprintf(stderr, "replay: out of memory\n");
				exit(2);
			}
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (names[n] == NULL)
		{
			fprintf(stderr, "replay: out of memory\n");
			exit(2);
		}
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(char *), cmp_names);
	for (i = 0; i < n; i++)
	{
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			replay_one(names[i]);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	int			i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++)
	{
		struct stat st;

		if (stat(argv[i], &st) != 0)
		{
			printf("FAIL %s (%s)\n", argv[i], strerror(errno));
			failed++;
		}
		else if (S_ISDIR(st.st_mode))
			replay_dir(argv[i]);
		else
			replay_one(argv[i]);
	}
	printf("replay: %d passed, %d failed\n", passed, failed);
	return (failed > 0 || passed == 0) ? 1 : 0;
}
