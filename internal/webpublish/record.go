package webpublish

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// A release record is what the bucket holds after one release: every key besides the
// records, with its content hash, ETag, size, headers and the last release that had
// it, and, until the release is live, the keys its publish is about to change. A
// publish reads the live release's record instead of listing the bucket, and writes
// one record for the new release before it uploads anything.
//
// It is zstd-compressed text (a third of gzip's time to write and read, for the same
// size: about 45 bytes per file), one item per line, fields separated by tabs,
// strings escaped (\\ \t \n \r, and \- for a string that is a single dash):
//
//	kmdeploy-web-record 2
//	R <seq> <version> <bucket>
//	H <content-type> <cache-control>            header sets #0, #1, ... in order
//	F <key> <sum> <etag> <size> <header#>       a file of this release
//	F <key> <sum> <etag> <size> <header#> <seq> a file kept for older releases, the last of which is <seq>
//	T <key>                                     a key this release's publish changes
//
// <sum> is the content's XXH3-128 (File.Sum). "-" stands for an unknown sum, ETag or
// header set.
const recordMagic = "kmdeploy-web-record 2"

// recordKey is where the record of release seq lives; zero-padded so that a listing
// returns records in order.
func recordKey(seq int64) string { return fmt.Sprintf("%s%08d.tsv.zst", releasesPrefix, seq) }

// recordSeq is the inverse of recordKey.
func recordSeq(key string) (int64, bool) {
	s, prefixed := strings.CutPrefix(key, releasesPrefix)
	s, suffixed := strings.CutSuffix(s, ".tsv.zst")
	if !prefixed || !suffixed || len(s) != 8 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

type headers struct{ contentType, cacheControl string }

// entry is what the bucket holds under one key, as far as the records know.
type entry struct {
	sum string // File.Sum; "" when unknown: written by something else, or by a publish that did not finish
	// sha256 stands in for sum in entries read from the first kmdeploy's manifest; it
	// is not written to records.
	sha256 string
	etag   string // "" when unknown
	size   int64
	hdr    *headers // nil when unknown
	last   int64    // the last release that had the key
	live   bool     // a file of the record's own release
}

// knowsContent reports whether the records say what the object's bytes are.
func (e *entry) knowsContent() bool { return e.sum != "" || e.sha256 != "" }

// holds reports whether the object has f's bytes, as far as the records know; f.SHA256
// must be filled in for an entry of the first kmdeploy.
func (e *entry) holds(f *File) bool {
	if e.sum != "" {
		return e.sum == f.Sum
	}
	return e.sha256 != "" && e.sha256 == f.SHA256
}

type record struct {
	seq     int64
	version string
	bucket  string
	files   map[string]*entry
	// keys are the keys of files in order, when known; encode sorts them otherwise.
	keys    []string
	touched []string
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

// appendEscaped appends s as a record field.
func appendEscaped(b []byte, s string) []byte {
	switch {
	case s == "":
		return append(b, '-')
	case s == "-":
		return append(b, `\-`...)
	case needsEscape(s):
		return append(b, escaper.Replace(s)...)
	}
	return append(b, s...)
}

// needsEscape is strings.ContainsAny(s, "\\\t\n\r") without building a set per call.
func needsEscape(s string) bool {
	for i := range len(s) {
		switch s[i] {
		case '\\', '\t', '\n', '\r':
			return true
		}
	}
	return false
}

func unescape(s string) string {
	switch s {
	case "-":
		return ""
	case `\-`:
		return "-"
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	return unescaper.Replace(s)
}

const recordWindow = 256 << 10

// encode writes the record, keys in order. Lines are built with appends: a record
// has a line per file, and fmt would be most of the time spent.
func (r *record) encode(w io.Writer) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true),
		// Lines repeat what is near them (paths, header sets): a small window compresses
		// as well, and spares a reader the default window's buffers.
		zstd.WithWindowSize(recordWindow))
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 64<<10)
	flush := func(force bool) {
		if (force || len(buf) > 60<<10) && err == nil {
			_, err = zw.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, recordMagic+"\nR\t"...)
	buf = strconv.AppendInt(buf, r.seq, 10)
	buf = appendEscaped(append(buf, '\t'), r.version)
	buf = appendEscaped(append(buf, '\t'), r.bucket)
	buf = append(buf, '\n')
	keys := r.keys
	if keys == nil {
		keys = slices.Sorted(maps.Keys(r.files))
	}
	entries := make([]*entry, len(keys))
	for i, k := range keys {
		entries[i] = r.files[k]
	}
	// Entries share header sets: they are numbered by pointer, one line per value.
	hdrIndex, hdrNumber := map[headers]int{}, map[*headers]int{}
	for _, e := range entries {
		h := e.hdr
		if _, ok := hdrNumber[h]; ok || h == nil {
			continue
		}
		if _, ok := hdrIndex[*h]; !ok {
			hdrIndex[*h] = len(hdrIndex)
			buf = appendEscaped(append(buf, "H\t"...), h.contentType)
			buf = appendEscaped(append(buf, '\t'), h.cacheControl)
			buf = append(buf, '\n')
		}
		hdrNumber[h] = hdrIndex[*h]
	}
	for i, k := range keys {
		e := entries[i]
		buf = appendEscaped(append(buf, "F\t"...), k)
		buf = appendEscaped(append(buf, '\t'), e.sum)
		buf = appendEscaped(append(buf, '\t'), e.etag)
		buf = strconv.AppendInt(append(buf, '\t'), e.size, 10)
		buf = append(buf, '\t')
		if e.hdr != nil {
			buf = strconv.AppendInt(buf, int64(hdrNumber[e.hdr]), 10)
		} else {
			buf = append(buf, '-')
		}
		if !e.live {
			buf = strconv.AppendInt(append(buf, '\t'), e.last, 10)
		}
		buf = append(buf, '\n')
		flush(false)
	}
	for _, k := range r.touched {
		buf = appendEscaped(append(buf, "T\t"...), k)
		buf = append(buf, '\n')
		flush(false)
	}
	flush(true)
	if err != nil {
		return err
	}
	return zw.Close()
}

var errBadRecord = errors.New("not a kmdeploy web release record")

// decodeRecord reads a record line by line, without holding its text in memory.
func decodeRecord(rd io.Reader) (*record, error) {
	zr, err := zstd.NewReader(rd, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64<<10)
	r := &record{files: map[string]*entry{}}
	d := &recordDecoder{r: r, fields: make([]string, 0, 8)}
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if n == 0 {
			if string(line) != recordMagic {
				return nil, errBadRecord
			}
			continue
		}
		if err := d.line(string(line)); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return r, nil
}

// recordDecoder holds what decoding a record reuses from line to line.
type recordDecoder struct {
	r      *record
	hdrs   []*headers
	fields []string
	slab   []entry // entries are allocated a few hundred at a time
}

// line decodes one line; its fields are substrings of it, so that a line is one
// allocation.
func (d *recordDecoder) line(line string) error {
	f := d.fields[:0]
	for s := range strings.SplitSeq(line, "\t") {
		f = append(f, s)
	}
	d.fields = f
	r := d.r
	var err error
	switch {
	case f[0] == "R" && len(f) == 4:
		r.seq, err = strconv.ParseInt(f[1], 10, 64)
		r.version, r.bucket = unescape(f[2]), unescape(f[3])
	case f[0] == "H" && len(f) == 3:
		d.hdrs = append(d.hdrs, &headers{unescape(f[1]), unescape(f[2])})
	case f[0] == "F" && (len(f) == 6 || len(f) == 7):
		if len(d.slab) == cap(d.slab) {
			d.slab = make([]entry, 0, 256)
		}
		d.slab = d.slab[:len(d.slab)+1]
		e := &d.slab[len(d.slab)-1]
		*e = entry{sum: unescape(f[2]), etag: unescape(f[3]), last: r.seq, live: len(f) == 6}
		if e.size, err = strconv.ParseInt(f[4], 10, 64); err != nil {
			return err
		}
		if f[5] != "-" {
			i, err := strconv.Atoi(f[5])
			if err != nil || i < 0 || i >= len(d.hdrs) {
				return fmt.Errorf("header set %q: %w", f[5], errBadRecord)
			}
			e.hdr = d.hdrs[i]
		}
		if !e.live {
			e.last, err = strconv.ParseInt(f[6], 10, 64)
		}
		r.files[unescape(f[1])] = e
	case f[0] == "T" && len(f) == 2:
		r.touched = append(r.touched, unescape(f[1]))
	default:
		return errBadRecord
	}
	return err
}
