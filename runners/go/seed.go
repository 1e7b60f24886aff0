// Imports the standard packages programs usually use, so that the image's
// build cache holds them compiled (go-build copies it into each run).
package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"container/list"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

var _ = []any{bufio.NewReader, bytes.NewBuffer, heap.Init, list.New, md5.Sum, sha256.Sum256, base64.StdEncoding,
	csv.NewReader, hex.EncodeToString, json.Marshal, errors.New, io.EOF, maps.Keys[map[int]int], math.Pi,
	big.NewInt, bits.OnesCount, rand.Int, filepath.Join, regexp.MustCompile, slices.Sort[[]int], sort.Ints,
	strconv.Itoa, strings.Split, sync.NewCond, tabwriter.NewWriter, template.New, time.Now, unicode.IsLetter,
	utf8.RuneLen}

func main() { fmt.Fprintln(os.Stdout, "seed") }
