/*
 * datadir.h - the files of a bootherd data directory (`--data DIR`), by
 * name relative to it: `bootherd init` and `serve` write them, the CLI
 * reads the address, URL, token and certificate from them.
 */
#ifndef BH_CORE_DATADIR_H
#define BH_CORE_DATADIR_H

#define BH_DB_FILE    "bootherd.db"
#define BH_IMAGES_DIR "images" /* chunks and manifests (src/image) */
#define BH_TOKEN_FILE "admin.token"
#define BH_ADDR_FILE  "http.addr"
#define BH_LOCK_FILE  "serve.lock" /* flock()ed by the one serve of a data directory */
/* the API's URL ("http://ADDR" or "https://ADDR"), and with TLS the boot
 * listener's ("http://ADDR"); written by serve once it listens */
#define BH_URL_FILE      "http.url"
#define BH_BOOT_URL_FILE "boot.url"
/* `bootherd init --tls`: the self-made certificate, relative to DATA */
#define BH_TLS_DIR       "tls"
#define BH_TLS_CERT_FILE "tls/cert.pem"
#define BH_TLS_KEY_FILE  "tls/key.pem"

#endif
