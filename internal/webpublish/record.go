package webpublish

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A release record is what the bucket holds after one release: every key besides the
// records, with its content hash, ETag, size, headers and the last release that had
// it, and, until the release is live, the keys its publish is about to change. A
// publish reads the live release's record instead of listing the bucket, and writes
// one record for the new release before it uploads anything.
//
// It is gzip-compressed text, one item per line, fields separated by tabs, strings
// escaped (\\ \t \n \r, and \- for a string that is a single dash):
//
//	kmdeploy-web-record 2
//	R <seq> <version> <bucket>
//	H <content-type> <cache-control>            header sets #0, #1, ... in order
//	F <key> <sha256> <etag> <size> <header#>    a file of this release
//	F <key> <sha256> <etag> <size> <header#> <seq>
//	                                            a file kept for older releases, the last of which is <seq>
//	T <key>                                     a key this release's publish changes
//
// "-" stands for an unknown sha256, ETag or header set.
const recordMagic = "kmdeploy-web-record 2"

// recordKey is where the record of release seq lives; zero-padded so that a listing
// returns records in order.
func recordKey(seq int64) string { return fmt.Sprintf("%s%08d.tsv.gz", releasesPrefix, seq) }

// recordSeq is the inverse of recordKey.
func recordSeq(key string) (int64, bool) {
	s, ok := strings.CutPrefix(key, releasesPrefix)
	if s, ok = strings.CutSuffix(s, ".tsv.gz"); !ok || len(s) != 8 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

type headers struct{ contentType, cacheControl string }

// entry is what the bucket holds under one key, as far as the records know.
type entry struct {
	sha256 string // "" when unknown: written by something else, or by a publish that did not finish
	etag   string // "" when unknown
	size   int64
	hdr    *headers // nil when unknown
	last   int64    // the last release that had the key
	live   bool     // a file of the record's own release
}

type record struct {
	seq     int64
	version string
	bucket  string
	files   map[string]*entry
	touched []string
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

func escape(s string) string {
	switch s {
	case "":
		return "-"
	case "-":
		return `\-`
	}
	return escaper.Replace(s)
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

// encode writes the record, keys in order.
func (r *record) encode(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	fmt.Fprintf(bw, "%s\nR\t%d\t%s\t%s\n", recordMagic, r.seq, escape(r.version), escape(r.bucket))
	hdrIndex := map[headers]int{}
	keys := slices.Sorted(maps.Keys(r.files))
	for _, k := range keys {
		if h := r.files[k].hdr; h != nil {
			if _, ok := hdrIndex[*h]; !ok {
				hdrIndex[*h] = len(hdrIndex)
				fmt.Fprintf(bw, "H\t%s\t%s\n", escape(h.contentType), escape(h.cacheControl))
			}
		}
	}
	for _, k := range keys {
		e := r.files[k]
		hdr := "-"
		if e.hdr != nil {
			hdr = strconv.Itoa(hdrIndex[*e.hdr])
		}
		fmt.Fprintf(bw, "F\t%s\t%s\t%s\t%d\t%s", escape(k), escape(e.sha256), escape(e.etag), e.size, hdr)
		if !e.live {
			fmt.Fprintf(bw, "\t%d", e.last)
		}
		bw.WriteByte('\n')
	}
	for _, k := range r.touched {
		fmt.Fprintf(bw, "T\t%s\n", escape(k))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

var errBadRecord = errors.New("not a kmdeploy web release record")

// decodeRecord reads a record line by line, without holding its text in memory.
func decodeRecord(rd io.Reader) (*record, error) {
	zr, err := gzip.NewReader(rd)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	r := &record{files: map[string]*entry{}}
	var hdrs []*headers
	fields := make([]string, 0, 8)
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
		fields = fields[:0]
		for f := range bytes.SplitSeq(line, []byte("\t")) {
			fields = append(fields, string(f))
		}
		if err := r.decodeLine(fields, &hdrs); err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return r, nil
}

func (r *record) decodeLine(f []string, hdrs *[]*headers) error {
	var err error
	switch {
	case f[0] == "R" && len(f) == 4:
		r.seq, err = strconv.ParseInt(f[1], 10, 64)
		r.version, r.bucket = unescape(f[2]), unescape(f[3])
	case f[0] == "H" && len(f) == 3:
		*hdrs = append(*hdrs, &headers{unescape(f[1]), unescape(f[2])})
	case f[0] == "F" && (len(f) == 6 || len(f) == 7):
		e := &entry{sha256: unescape(f[2]), etag: unescape(f[3]), last: r.seq, live: len(f) == 6}
		if e.size, err = strconv.ParseInt(f[4], 10, 64); err != nil {
			return err
		}
		if f[5] != "-" {
			i, err := strconv.Atoi(f[5])
			if err != nil || i < 0 || i >= len(*hdrs) {
				return fmt.Errorf("header set %q: %w", f[5], errBadRecord)
			}
			e.hdr = (*hdrs)[i]
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
