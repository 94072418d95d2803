// Command routerkeys reads the router's config package (Go source) and prints the YAML keys
// its loader knows, as JSON: the key inventory the chart tests check rendered configs against.
//
// It mirrors how the router's loader flags unknown keys (collectKnownFields and
// collectUnknownFieldsRecursive in pkg/config/validate.go): a struct's keys are its fields'
// yaml tag names (the lower-cased field name when the tag has none); fields tagged "-" are
// skipped; inline and untagged embedded structs promote their keys; slices and maps are
// followed to their element struct (a map only when the element is a struct value, not a
// pointer); a struct with no keys, and any type from another package, is opaque.
//
// Usage: go run ./scripts/routerkeys <pkg/config dir> <commit> > inventory.json
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// Ref is how a field's value is checked: a struct (by name), a list or map of something,
// or a leaf (a scalar, interface or opaque type: nothing below it is checked).
type Ref struct {
	Struct string `json:"struct,omitempty"`
	List   *Ref   `json:"list,omitempty"`
	Map    *Ref   `json:"map,omitempty"`
}

type inventory struct {
	Source  string                     `json:"source"`
	Commit  string                     `json:"commit"`
	Root    string                     `json:"root"`
	Structs map[string]map[string]*Ref `json:"structs"`
}

type builder struct {
	types   map[string]ast.Expr
	structs map[string]map[string]*Ref
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: routerkeys <pkg/config dir> <commit>")
		os.Exit(2)
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, os.Args[1], func(info os.FileInfo) bool {
		return !strings.HasSuffix(info.Name(), "_test.go")
	}, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b := &builder{types: map[string]ast.Expr{}, structs: map[string]map[string]*Ref{}}
	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			for _, decl := range file.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.TYPE {
					continue
				}
				for _, spec := range gen.Specs {
					ts := spec.(*ast.TypeSpec)
					b.types[ts.Name.Name] = ts.Type
				}
			}
		}
	}
	const root = "CanonicalConfig"
	if _, ok := b.types[root]; !ok {
		fmt.Fprintln(os.Stderr, "no CanonicalConfig type in", os.Args[1])
		os.Exit(1)
	}
	b.named(root)
	out := inventory{
		Source:  "github.com/vllm-project/semantic-router src/semantic-router/pkg/config",
		Commit:  os.Args[2],
		Root:    root,
		Structs: b.structs,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// named returns the Ref of a package-level type, building its struct entry once.
func (b *builder) named(name string) *Ref {
	expr, ok := b.types[name]
	if !ok {
		return &Ref{} // a predeclared type (string, int ...) or unknown: a leaf
	}
	if st, ok := expr.(*ast.StructType); ok {
		if _, done := b.structs[name]; !done {
			b.structs[name] = map[string]*Ref{} // placeholder: recursive types terminate
			b.structs[name] = b.fields(name, st)
		}
		if len(b.structs[name]) == 0 {
			return &Ref{} // opaque: the loader checks nothing below a struct with no keys
		}
		return &Ref{Struct: name}
	}
	return b.ref(name, expr)
}

func (b *builder) ref(owner string, expr ast.Expr) *Ref {
	switch t := expr.(type) {
	case *ast.Ident:
		return b.named(t.Name)
	case *ast.StarExpr:
		return b.ref(owner, t.X)
	case *ast.ParenExpr:
		return b.ref(owner, t.X)
	case *ast.ArrayType:
		elem := b.ref(owner, t.Elt)
		if elem.Struct == "" {
			return &Ref{}
		}
		return &Ref{List: elem}
	case *ast.MapType:
		if _, isPtr := t.Value.(*ast.StarExpr); isPtr {
			return &Ref{} // recurseIntoMap needs a struct value, not a pointer
		}
		elem := b.ref(owner, t.Value)
		if elem.Struct == "" {
			return &Ref{}
		}
		return &Ref{Map: elem}
	case *ast.StructType:
		if _, done := b.structs[owner]; !done {
			b.structs[owner] = map[string]*Ref{}
			b.structs[owner] = b.fields(owner, t)
		}
		if len(b.structs[owner]) == 0 {
			return &Ref{}
		}
		return &Ref{Struct: owner}
	default:
		return &Ref{} // another package's type, interface, func, chan: opaque
	}
}

func (b *builder) fields(owner string, st *ast.StructType) map[string]*Ref {
	known := map[string]*Ref{}
	for _, field := range st.Fields.List {
		tag := ""
		if field.Tag != nil {
			raw, err := strconv.Unquote(field.Tag.Value)
			if err == nil {
				tag = reflect.StructTag(raw).Get("yaml")
			}
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if len(field.Names) == 0 { // embedded
			if strings.Contains(opts, "inline") || name == "" {
				for key, ref := range b.promoted(owner, field.Type) {
					known[key] = ref
				}
				continue
			}
			known[name] = b.ref(owner+"."+name, field.Type)
			continue
		}
		if strings.Contains(opts, "inline") {
			for key, ref := range b.promoted(owner+"."+field.Names[0].Name, field.Type) {
				known[key] = ref
			}
			continue
		}
		for _, ident := range field.Names {
			key := name
			if key == "" {
				key = strings.ToLower(ident.Name)
			}
			known[key] = b.ref(owner+"."+key, field.Type)
		}
	}
	return known
}

// promoted gives the keys an inline or embedded struct adds to its parent.
func (b *builder) promoted(owner string, expr ast.Expr) map[string]*Ref {
	for {
		star, ok := expr.(*ast.StarExpr)
		if !ok {
			break
		}
		expr = star.X
	}
	switch t := expr.(type) {
	case *ast.Ident:
		if _, ok := b.types[t.Name].(*ast.StructType); ok {
			b.named(t.Name)
			return b.structs[t.Name]
		}
	case *ast.StructType:
		return b.fields(owner, t)
	}
	return nil
}
