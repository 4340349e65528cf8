#include "env.h"

#include <lz4.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/vfs.h>
#endif

void print_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      fputc('\\', out);
      fputc(*p, out);
    } else if (*p < 0x20) {
      fprintf(out, "\\u%04x", *p);
    } else {
      fputc(*p, out);
    }
  }
  fputc('"', out);
}

/* "model name" from /proc/cpuinfo (x86, most ARM kernels), else "unknown". */
static void cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t') value++;
    value[strcspn(value, "\n")] = 0;
    snprintf(buf, size, "%s", value);
    break;
  }
  fclose(f);
}

/* Name of the file system holding dir: page-cache figures on tmpfs mean something else than on
 * ext4 or xfs. */
static const char *fs_type(const char *dir) {
#if defined(__linux__)
  struct statfs st;
  if (statfs(dir, &st) != 0) return "unknown";
  switch ((unsigned long)st.f_type) {
    case 0xEF53UL: return "ext4";
    case 0x58465342UL: return "xfs";
    case 0x9123683EUL: return "btrfs";
    case 0x01021994UL: return "tmpfs";
    case 0x794C7630UL: return "overlayfs";
    case 0x2FC12FC1UL: return "zfs";
    case 0xF2F52010UL: return "f2fs";
    case 0x6969UL: return "nfs";
    case 0x65735546UL: return "fuse";
    default: return "other";
  }
#else
  (void)dir;
  return "unknown";
#endif
}

void print_env_json(FILE *out, const char *dir) {
  struct utsname u;
  char model[256];
  cpu_model(model, sizeof model);
  if (uname(&u) != 0) memset(&u, 0, sizeof u);
  long pageBytes = sysconf(_SC_PAGESIZE);
  long pages = sysconf(_SC_PHYS_PAGES);

  fprintf(out, "\"env\":{\"cpuModel\":");
  print_json_string(out, model);
  fprintf(out, ",\"logicalCpus\":%ld,\"os\":", sysconf(_SC_NPROCESSORS_ONLN));
  print_json_string(out, u.sysname);
  fprintf(out, ",\"kernel\":");
  print_json_string(out, u.release);
  fprintf(out, ",\"arch\":");
  print_json_string(out, u.machine);
  fprintf(out, ",\"memTotalBytes\":%lld,\"pageBytes\":%ld,\"compiler\":",
          (long long)pages * pageBytes, pageBytes);
#if defined(__clang__)
  print_json_string(out, "clang " __clang_version__);
#else
  print_json_string(out, "gcc " __VERSION__);
#endif
  fprintf(out, ",\"lz4Version\":");
  print_json_string(out, LZ4_versionString());
  fprintf(out, ",\"tmpDir\":");
  print_json_string(out, dir);
  fprintf(out, ",\"tmpDirFsType\":");
  print_json_string(out, fs_type(dir));
  fputc('}', out);
}
