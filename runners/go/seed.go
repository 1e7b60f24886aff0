// Imports the standard packages programs usually use, so that the image's
// build cache holds them compiled (go-build copies it into each run).
package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

var _ = []any{bufio.NewReader, bytes.NewBuffer, heap.Init, csv.NewReader, json.Marshal, errors.New, io.EOF,
	math.Pi, big.NewInt, rand.Int, regexp.MustCompile, slices.Sort[[]int], sort.Ints, strconv.Itoa,
	strings.Split, sync.NewCond, time.Now, unicode.IsLetter}

func main() { fmt.Fprintln(os.Stdout, "seed") }
