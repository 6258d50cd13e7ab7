/*
 * bootsvc.h - the boot services of `bootherd serve`: DHCP, TFTP and the
 * HTTP boot endpoints, deciding from the boot view how each machine boots.
 */
#ifndef BH_BOOT_BOOTSVC_H
#define BH_BOOT_BOOTSVC_H

#include "boot.h"
#include "bootctx.h"
#include "bootproof.h"
#include "bootscript.h"
#include "core/buf.h"

#include <jansson.h>
#include <uv.h>

struct bh_boot;
struct bh_tftp;
struct bh_dhcp;

/* Open the boot root, bind DHCP and TFTP (call while privileged), load the
 * boot view and start the worker.  The services answer once `loop` runs. */
int bh_boot_start(uv_loop_t *loop, const struct bh_boot_config *cfg, struct bh_store *store,
                  int http_port, struct bh_boot **out, struct bh_err *err);
/* Loop thread: stop DHCP/TFTP; then, after the loop ran, bh_boot_free. */
void bh_boot_stop(struct bh_boot *b);
void bh_boot_free(struct bh_boot *b);
/* The store committed (any thread). */
void bh_boot_on_commit(struct bh_boot *b);

void bh_boot_settings(struct bh_boot *b, struct bh_boot_settings *out);
struct bh_bootview *bh_boot_view(struct bh_boot *b);
struct bh_bootwork *bh_boot_work(struct bh_boot *b);
int bh_boot_root_fd(const struct bh_boot *b);
/* The settings read from the config file at start. */
const struct bh_boot_config *bh_boot_config_of(const struct bh_boot *b);
/* The DHCP mode of configured interface i now (settings.dhcp_modes wins). */
enum bh_dhcp_mode bh_boot_iface_mode(struct bh_boot *b, int i);
/* The port of the HTTP API and boot endpoints. */
int bh_boot_http_port(const struct bh_boot *b);
/* The MAC last seen with this IPv4 address (from DHCP), into mac[BH_MAC_STRLEN]. */
bool bh_boot_mac_of_ip(struct bh_boot *b, const char *ip, char mac[BH_MAC_STRLEN]);
/* The boot ticket for mac's current boot, for a request from remote
 * (bootproof.h): BH_EPERM with why when remote has not proven it. */
int bh_boot_ticket(struct bh_boot *b, const char *mac, const char *remote,
                   bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                   struct bh_err *err);
/* Has remote proven it is mac booting (bootproof.h)?  0, or BH_EPERM. */
int bh_boot_prove(struct bh_boot *b, const char *mac, const char *remote, struct bh_err *err);
/* The next iPXE script of mac (before until_ms) boots from the local disk,
 * once: start:N of an OS the agent cannot kexec.  Held in memory: a restart
 * forgets it, and the machine boots the client OS, which starts it again. */
void bh_boot_local_once(struct bh_boot *b, const char *mac, int64_t until_ms);
bool bh_boot_take_local_once(struct bh_boot *b, const char *mac);
/* What the boot services are doing now, for the console's dashboard:
 * leases held (full mode) and TFTP transfers running. */
struct bh_boot_figures {
    uint64_t leases, tftp_transfers;
    bool tftp; /* TFTP is on */
};
void bh_boot_figures(struct bh_boot *b, struct bh_boot_figures *out);
/* Prometheus lines for DHCP, TFTP and the boot endpoints. */
int bh_boot_metrics(struct bh_boot *b, struct bh_buf *out);

/* ---- decisions (bootpolicy.c) --------------------------------------------- */

/* How DHCP client c boots (loop thread; registers unknown MACs by policy):
 * bh_bootpolicy_decide over this service's view. */
void bh_boot_decide(struct bh_boot *b, const struct bh_boot_client *c, struct bh_boot_decision *d);

/* ---- scripts and generated files (bootscript.h says what each does) ---- */

int bh_boot_ipxe_script(struct bh_boot *b, const struct bh_script_req *q, struct bh_buf *out,
                        struct bh_err *err);
void bh_boot_profile_choice(struct bh_boot *b, const char *mac, const json_t *host, char *profile,
                            size_t pcap, char *action, size_t acap);
int bh_boot_virtual_file(struct bh_boot *b, const char *path, const char *server,
                         struct bh_buf *out);

#endif
