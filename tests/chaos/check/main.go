// Command check verifies a chaos run's history with Porcupine, against a
// model of a fenced lock: acquisitions grant strictly increasing fences,
// and the fenced store accepts a write only with a fence at least the
// highest written, from the holder of the latest grant, unless that holder
// was paused past its ttl or killed (it lost the lock by design; the store
// then guards alone).
//
//	check RUN_FOLDER      exit 0: linearizable; 1: not (or unknown); 2: bad input
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

type input struct {
	Acquire  bool
	Fence    uint64
	Accepted bool
	Excused  bool
}

type state struct{ Granted, Written uint64 }

var model = porcupine.Model{
	Init: func() interface{} { return state{} },
	Step: func(s, in, _ interface{}) (bool, interface{}) {
		st, op := s.(state), in.(input)
		switch {
		case op.Acquire:
			if op.Fence <= st.Granted {
				return false, st
			}
			st.Granted = op.Fence
			return true, st
		case op.Accepted:
			if op.Fence < st.Written || (op.Fence != st.Granted && !op.Excused) {
				return false, st
			}
			st.Written = op.Fence
			return true, st
		default:
			return op.Fence < st.Written, st
		}
	},
	Equal: func(a, b interface{}) bool { return a.(state) == b.(state) },
	DescribeOperation: func(in, _ interface{}) string {
		op := in.(input)
		if op.Acquire {
			return fmt.Sprintf("acquire -> fence %d", op.Fence)
		}
		return fmt.Sprintf("write fence %d accepted=%v excused=%v", op.Fence, op.Accepted, op.Excused)
	},
}

type record map[string]interface{}

func lines(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func num(r record, k string) int64 { v, _ := r[k].(float64); return int64(v) }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: check RUN_FOLDER")
		os.Exit(2)
	}
	dir := os.Args[1]
	fail := func(err error) { fmt.Fprintln(os.Stderr, "check:", err); os.Exit(2) }
	writes, err := lines(filepath.Join(dir, "store.jsonl"))
	if err != nil {
		fail(err)
	}
	faults, err := lines(filepath.Join(dir, "faults.jsonl"))
	if err != nil {
		fail(err)
	}
	// Holders that lost their lock by a fault: "lang-pid" of paused or killed holders, with the fence.
	excused := map[string]bool{}
	for _, f := range faults {
		if k := f["kind"]; k == "stop" || k == "kill" || k == "kill-any" || k == "cut" || k == "slow" {
			// kill-any, cut and slow do not know the fence (-1): any of that holder's.
			excused[fmt.Sprintf("%v-%d/%d", f["lang"], num(f, "pid"), num(f, "fence"))] = true
		}
	}
	var ops []porcupine.Operation
	files, _ := filepath.Glob(filepath.Join(dir, "worker-*.jsonl"))
	for _, path := range files {
		events, err := lines(path)
		if err != nil {
			fail(err)
		}
		for _, e := range events {
			if e["ev"] != "acquired" {
				continue
			}
			ret := num(e, "t_ns")
			w, ok := e["waited_ms"].(float64)
			if !ok {
				fail(fmt.Errorf("%s: an acquisition without waited_ms", path))
			}
			waited := int64(w * 1e6)
			ops = append(ops, porcupine.Operation{ClientId: int(num(e, "pid")), Input: input{Acquire: true, Fence: uint64(num(e, "fence"))},
				Call: ret - waited - int64(time.Millisecond), Return: ret})
		}
	}
	for _, w := range writes {
		holder, fence := w["holder"].(string), num(w, "fence")
		lang, pid, _ := strings.Cut(holder, "-")
		var id int
		fmt.Sscan(pid, &id)
		t := num(w, "t_ns")
		ops = append(ops, porcupine.Operation{ClientId: id, Input: input{Fence: uint64(fence), Accepted: w["accepted"] == true,
			Excused: excused[fmt.Sprintf("%s-%s/%d", lang, pid, fence)] || excused[lang+"-"+pid+"/-1"]}, Call: t, Return: t})
	}
	res, info := porcupine.CheckOperationsVerbose(model, ops, 60*time.Second)
	fmt.Printf("porcupine: %d operations: %s\n", len(ops), res)
	if res != porcupine.Ok {
		out := filepath.Join(dir, "porcupine.html")
		if f, err := os.Create(out); err == nil {
			porcupine.Visualize(model, info, f)
			f.Close()
			fmt.Println("porcupine: visualization in", out)
		}
		os.Exit(1)
	}
}
