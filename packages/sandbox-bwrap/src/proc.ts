import { kindOf, mask } from "./mask.js";

/**
 * Kernel interfaces that stay read-only inside: the sysctls, the magic SysRq key, interrupt
 * routing, bus and filesystem settings (the set docker and runc make read-only). bwrap tries this
 * itself, but only for what `access(W_OK)` says is writable, and for /proc/sys that always says
 * EACCES, so as root (uid 0 inside is host uid 0, which passes the sysctl check with no capability)
 * `echo x > /proc/sys/kernel/core_pattern` would change the host's value.
 */
export const PROC_READONLY = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"];

/** Kernel state that is hidden inside: memory, keyrings, timers and scheduler internals, firmware, power meters (docker's masked paths). */
export const KERNEL_MASKED = [
  "/proc/kcore",
  "/proc/keys",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/latency_stats",
  "/proc/acpi",
  "/proc/asound",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/**
 * A fresh /proc for the sandbox with the kernel's settings read-only and its internals masked, and
 * the same masks over /sys where the read policy shows it. The read-only binds take the host's
 * entries (bwrap binds from the host): the same kernel, and /proc/sys shows each reader its own
 * namespaces. Entries this kernel does not have are skipped.
 */
export function procArgs(showsSys: boolean): string[] {
  const args = ["--proc", "/proc"];
  for (const path of PROC_READONLY) if (kindOf(path) !== "missing") args.push("--ro-bind", path, path);
  for (const path of KERNEL_MASKED) if (showsSys || !path.startsWith("/sys/")) args.push(...mask(path));
  return args;
}
