package rules

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a rule file.
//
// Line and Column are 1-based; 0 means unknown (for example a file that is
// too large, or a YAML syntax error for which the YAML parser gives no column).
type Error struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error returns "file:line:col: msg". A zero column is left out
// ("file:line: msg"), and so is a zero line ("file: msg").
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a set of rule files, sorted by file,
// line and column. Parse, ParseFiles and Load return a non-empty ErrorList
// when rule files are invalid.
type ErrorList []*Error

// Error returns the errors one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors of l, so that errors.As can find an *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if c := cmp.Compare(a.File, b.File); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	})
}
