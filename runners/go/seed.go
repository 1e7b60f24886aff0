// Imports the standard packages programs usually use, so that the image's
// build cache holds them compiled (go-build copies it into each run).
package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"container/list"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
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

var _ = []any{bufio.NewReader, bytes.NewBuffer, heap.Init, list.New, context.Background, flag.Parse, log.Println,
	http.Get, httptest.NewRecorder, url.Parse, exec.Command, md5.Sum, sha256.Sum256, base64.StdEncoding,
	csv.NewReader, hex.EncodeToString, json.Marshal, errors.New, io.EOF, maps.Keys[map[int]int], math.Pi,
	big.NewInt, bits.OnesCount, rand.Int, filepath.Join, regexp.MustCompile, slices.Sort[[]int], sort.Ints,
	strconv.Itoa, strings.Split, sync.NewCond, tabwriter.NewWriter, template.New, time.Now, unicode.IsLetter,
	utf8.RuneLen}

func main() { fmt.Fprintln(os.Stdout, "seed") }
