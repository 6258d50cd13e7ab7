/*
 * ticket.h - one-time boot tickets for the client agent.
 *
 * The iPXE script of a machine puts `bootherd.ticket=T` on the client OS's
 * kernel command line ({{ticket}} in a profile's cmdline).  T binds the
 * machine's MAC, an expiry and a random nonce, signed with HMAC-SHA256
 * under the server's agent key (DATA/agent.key):
 *
 *     <mac, 12 hex>.<expiry, ms since the epoch>.<nonce, 32 hex>.<HMAC, 64 hex>
 *
 * The agent trades it once for a host token (POST /api/v1/agent/hello);
 * the nonce is recorded so the same ticket never works twice.
 */
#ifndef BH_API_TICKET_H
#define BH_API_TICKET_H

#include "core/err.h"

#include <stdint.h>

#define BH_TICKET_MAX     128
#define BH_TICKET_TTL_MS  (60LL * 60 * 1000) /* boot to agent start takes minutes */
#define BH_AGENT_KEY_LEN  32
#define BH_AGENT_KEY_FILE "agent.key"

/* mac: aa:bb:cc:dd:ee:ff.  0, or BH_ESYS without randomness. */
int bh_ticket_make(const uint8_t key[BH_AGENT_KEY_LEN], const char *mac, int64_t now_ms,
                   int64_t ttl_ms, char out[BH_TICKET_MAX]);
/* Check a ticket presented for mac at now_ms; on success *nonce (33 bytes)
 * and *expires_ms are filled for the one-time record.  BH_EAUTH with a
 * message that says which check failed. */
int bh_ticket_check(const uint8_t key[BH_AGENT_KEY_LEN], const char *ticket, const char *mac,
                    int64_t now_ms, char nonce[33], int64_t *expires_ms, struct bh_err *err);

#endif
