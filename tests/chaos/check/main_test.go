package main

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func acq(c int, fence uint64, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: c, Input: input{Acquire: true, Fence: fence}, Call: call, Return: ret}
}

func write(c int, fence uint64, t int64, accepted, excused bool) porcupine.Operation {
	return porcupine.Operation{ClientId: c, Input: input{Fence: fence, Accepted: accepted, Excused: excused}, Call: t, Return: t}
}

// The model must reject what a broken lock does, or the harness proves nothing.
func TestModel(t *testing.T) {
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"one holder after another", []porcupine.Operation{
			acq(1, 1, 0, 10), write(1, 1, 11, true, false), write(1, 1, 12, true, false),
			acq(2, 2, 5, 20), write(2, 2, 21, true, false),
		}, porcupine.Ok},
		{"two holders at once: the first writes after the second was granted", []porcupine.Operation{
			acq(1, 1, 0, 10), write(1, 1, 11, true, false),
			acq(2, 2, 12, 13), write(1, 1, 14, true, false), write(2, 2, 15, true, false),
		}, porcupine.Illegal},
		{"the same, the first paused past its ttl: the store alone guards", []porcupine.Operation{
			acq(1, 1, 0, 10), write(1, 1, 11, true, false),
			acq(2, 2, 12, 13), write(1, 1, 14, true, true), write(2, 2, 15, true, false),
		}, porcupine.Ok},
		{"a stale write the store accepted", []porcupine.Operation{
			acq(1, 1, 0, 10), acq(2, 2, 11, 12), write(2, 2, 13, true, false), write(1, 1, 14, true, true),
		}, porcupine.Illegal},
		{"fences that go back", []porcupine.Operation{
			acq(1, 5, 0, 10), acq(2, 4, 11, 12),
		}, porcupine.Illegal},
		{"a refused stale write", []porcupine.Operation{
			acq(1, 1, 0, 10), acq(2, 2, 11, 12), write(2, 2, 13, true, false), write(1, 1, 14, false, true),
		}, porcupine.Ok},
	}
	for _, c := range cases {
		if got := porcupine.CheckOperationsTimeout(model, c.ops, 0); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
