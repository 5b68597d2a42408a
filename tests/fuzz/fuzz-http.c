/* Fuzzes struct http_reader (src/proto/http.h), the parser every byte from a client or an agent
 * goes through.
 *
 * Input: byte 0 = flags, bytes 1..4 = piece sizes, the rest = the byte stream.
 *   flags bit 0: response mode (else request mode)
 *   flags bit 1: response mode: on_head returns 1 ("no body", a reply to HEAD)
 *   flags bit 2: on_body fails (-EIO) once the message has delivered more than 16 bytes
 *   flags bit 3: on_head fails (-EPROTO) for the second message
 *   flags bit 4: call http_reader_finish() at the end of the stream
 * The stream is fed in pieces whose sizes cycle through bytes 1..4 (size = byte % 64 + 1; a
 * byte >= 0xf0 means "everything left"), resuming after every pause as the daemon does.
 *
 * Checked: callbacks come in order (head, body*, complete) and never after an error or while
 * paused; feed() consumes no more than it was given; a callback's error comes back unchanged;
 * head strings are NUL-terminated, within HTTP_HEAD_MAX, without CR/LF, and stay readable until
 * resume (they are re-read in on_complete); bodies delivered equal Content-Length when declared;
 * in_message() is true between on_head and on_complete. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"
#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                  \
    do {                                                                          \
        if (!(x)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                              \
        }                                                                         \
    } while (0)

enum phase {
    PHASE_IDLE,   /* between messages */
    PHASE_BODY,   /* after on_head */
    PHASE_PAUSED, /* after on_complete, before resume */
    PHASE_DEAD,   /* after an error: no callback may come */
};

struct state {
    struct http_reader *r;
    unsigned flags;
    enum phase phase;
    const struct http_head *head;
    size_t n_messages;
    uint64_t body_len;
    bool no_body;
    int injected; /* error a callback returned, 0 if none */
};

static void check_string(const char *s, size_t *total)
{
    CHECK(s);
    size_t n = strlen(s); /* ASan: must be terminated inside the reader's buffer */
    CHECK(n <= HTTP_HEAD_MAX);
    CHECK(!memchr(s, '\r', n) && !memchr(s, '\n', n));
    *total += n;
}

static void check_head(const struct state *st, const struct http_head *h)
{
    size_t total = 0;
    bool response = st->flags & 1;
    if (response) {
        CHECK(h->method == NULL);
        CHECK(h->status <= 999);
    } else {
        check_string(h->method, &total);
        CHECK(h->method[0] != 0);
        check_string(h->url, &total);
    }
    CHECK(h->n_headers <= HTTP_HEADERS_MAX);
    for (size_t i = 0; i < h->n_headers; i++) {
        check_string(h->headers[i].name, &total);
        check_string(h->headers[i].value, &total);
        CHECK(http_head_get(h, h->headers[i].name) != NULL);
    }
    CHECK(total <= HTTP_HEAD_MAX);
    CHECK(!(h->chunked && h->has_content_length));
    if (!h->has_content_length)
        CHECK(h->content_length == 0);
}

static int on_head(void *userdata, const struct http_head *head)
{
    struct state *st = userdata;
    CHECK(st->phase == PHASE_IDLE);
    CHECK(http_reader_in_message(st->r));
    check_head(st, head);
    st->head = head;
    st->body_len = 0;
    st->n_messages++;
    st->phase = PHASE_BODY;
    if ((st->flags & 8) && st->n_messages == 2) {
        st->injected = -EPROTO;
        st->phase = PHASE_DEAD;
        return -EPROTO;
    }
    st->no_body = (st->flags & 3) == 3;
    return st->no_body ? 1 : 0;
}

static int on_body(void *userdata, const uint8_t *data, size_t len)
{
    struct state *st = userdata;
    CHECK(st->phase == PHASE_BODY);
    CHECK(!st->no_body);
    CHECK(http_reader_in_message(st->r));
    CHECK(len > 0);
    /* Touch every byte: it must lie inside the input. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t) (sum + data[i]);
    (void) sum;
    st->body_len += len;
    if (st->head->has_content_length)
        CHECK(st->body_len <= st->head->content_length);
    if ((st->flags & 4) && st->body_len > 16) {
        st->injected = -EIO;
        st->phase = PHASE_DEAD;
        return -EIO;
    }
    return 0;
}

static int on_complete(void *userdata)
{
    struct state *st = userdata;
    CHECK(st->phase == PHASE_BODY);
    /* The head must still be intact: re-check every string (catches a moved buffer). */
    check_head(st, st->head);
    if (st->head->has_content_length && !st->no_body && !st->head->upgrade)
        CHECK(st->body_len == st->head->content_length);
    if (st->no_body)
        CHECK(st->body_len == 0);
    st->phase = PHASE_PAUSED;
    return 0;
}

static const struct http_reader_ops ops = {
    .on_head = on_head,
    .on_body = on_body,
    .on_complete = on_complete,
};

static void run(unsigned flags, const uint8_t sizes[4], const uint8_t *data, size_t size)
{
    struct state st = {.flags = flags};
    st.r = http_reader_new(flags & 1 ? HTTP_READER_RESPONSE : HTTP_READER_REQUEST, &ops, &st);
    size_t pos = 0, piece = 0;
    bool failed = false, upgraded = false;
    while (pos < size) {
        uint8_t b = sizes[piece++ % 4];
        size_t want = b >= 0xf0 ? size - pos : (size_t) (b % 64) + 1;
        if (want > size - pos)
            want = size - pos;
        /* Feed from an exact-size copy so ASan catches reads past the piece. */
        uint8_t *copy = malloc(want);
        CHECK(copy);
        memcpy(copy, data + pos, want);
        size_t off = 0;
        while (off < want) {
            size_t used = SIZE_MAX;
            int k = http_reader_feed(st.r, copy + off, want - off, &used);
            if (k < 0) {
                if (st.injected)
                    CHECK(k == st.injected);
                else
                    CHECK(k == -EBADMSG || k == -EMSGSIZE);
                failed = true;
                break;
            }
            CHECK(used <= want - off);
            if (k == 0)
                CHECK(used == want - off); /* not paused: everything was taken */
            off += used;
            if (k == HTTP_READER_PAUSED) {
                if (st.phase != PHASE_PAUSED) {
                    /* Only an upgrade pauses without a completed message... */
                    CHECK(st.head && st.head->upgrade);
                    upgraded = true;
                    break;
                }
                if (st.head->upgrade) {
                    upgraded = true; /* the stream is no longer HTTP */
                    break;
                }
                /* While paused the reader takes nothing and calls nothing. */
                size_t u2 = SIZE_MAX;
                if (off < want) {
                    CHECK(http_reader_feed(st.r, copy + off, want - off, &u2) ==
                          HTTP_READER_PAUSED);
                    CHECK(u2 == 0);
                }
                http_reader_resume(st.r);
                st.phase = PHASE_IDLE;
                st.head = NULL;
            } else {
                CHECK(k == 0);
            }
        }
        free(copy);
        if (failed || upgraded)
            break;
        pos += want;
    }
    if (failed) {
        /* The reader is unusable, but must stay quiet if fed again. */
        st.phase = PHASE_DEAD;
        size_t used;
        static const uint8_t more[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        int k = http_reader_feed(st.r, more, sizeof(more) - 1, &used);
        CHECK(k < 0);
    } else if (!upgraded && (flags & 16)) {
        int k = http_reader_finish(st.r);
        CHECK(k == 0 || k == -EPIPE);
    }
    http_reader_free(st.r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5 || size > 256 * 1024)
        return 0;
    run(data[0], data + 1, data + 5, size - 5);
    return 0;
}
