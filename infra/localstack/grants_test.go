package localstack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/config"
)

// loadersCalled returns the config loaders the code of a function's
// directory calls (config.<Loader>(...)), and every place it reads the
// environment itself instead (os.Getenv and the like).
func loadersCalled(t *testing.T, dir string) (loaders map[string]bool, direct []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	loaders = map[string]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			names := map[string]string{} // local package name -> import path
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				name := filepath.Base(path)
				if imp.Name != nil {
					name = imp.Name.Name
				}
				names[name] = path
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				switch path := names[pkg.Name]; {
				case strings.HasSuffix(path, "/shared/config"):
					if _, ok := config.Loaders[sel.Sel.Name]; ok {
						loaders[sel.Sel.Name] = true
					}
				case (path == "os" || path == "syscall") && slices.Contains([]string{"Getenv", "LookupEnv", "Environ"}, sel.Sel.Name):
					direct = append(direct, fset.Position(sel.Pos()).String()+": "+path+"."+sel.Sel.Name)
				}
				return true
			})
		}
	}
	return loaders, direct
}

// TestEachFunctionIsGivenExactlyTheVariablesAndSecretsItsCodeLoads holds
// template.yaml to each function's code: its Environment (with the
// Globals) is exactly the variables of the config loaders its code calls,
// and it is granted secretsmanager:GetSecretValue on exactly the secrets
// those loaders read. A variable or secret the code never reads fails it,
// and so does one the code reads but the template does not give. (The
// DynamoDB, SES and Lambda actions are held to the code by the end-to-end
// suite, which the local stack runs under these same grants: see IAM.)
func TestEachFunctionIsGivenExactlyTheVariablesAndSecretsItsCodeLoads(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions(Refs{Parameters: map[string]string{"TokenKeysSecretArn": "", "AddressPepperSecretArn": ""}, Resources: map[string]string{"Table": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 9 {
		t.Fatalf("%d functions in the template", len(fns))
	}
	for _, f := range fns {
		t.Run(f.LogicalID, func(t *testing.T) {
			loaders, direct := loadersCalled(t, filepath.Join(root, f.Dir))
			for _, d := range direct {
				t.Errorf("%s reads the environment itself; read it through a loader of shared/config", d)
			}
			if len(loaders) == 0 {
				t.Fatalf("%s calls no config loader", f.Dir)
			}
			want, secrets := map[string]string{}, map[string]bool{}
			for name := range loaders {
				l := config.Loaders[name]
				for _, v := range l.Vars {
					want[v] = name
				}
				for _, v := range l.Local {
					if _, ok := f.Env[v]; ok {
						t.Errorf("the template sets %s, which only the local stack may set (config.%s)", v, name)
					}
				}
				if l.SecretARN != "" {
					if param := f.EnvRefs[l.SecretARN]; param != "" {
						secrets[param] = true
					} else {
						t.Errorf("config.%s reads the secret %s names, which the template does not set with !Ref to a parameter", name, l.SecretARN)
					}
				}
			}
			for _, v := range slices.Sorted(maps.Keys(want)) {
				if _, ok := f.Env[v]; !ok {
					t.Errorf("its code reads %s (config.%s), which the template does not set", v, want[v])
				}
			}
			for _, v := range slices.Sorted(maps.Keys(f.Env)) {
				if _, ok := want[v]; !ok {
					t.Errorf("the template sets %s, which its code never reads", v)
				}
			}
			granted := map[string]bool{}
			for _, st := range f.Statements {
				for _, a := range st.Actions {
					if strings.HasPrefix(a, "secretsmanager:") && a != "secretsmanager:GetSecretValue" {
						t.Errorf("it is granted %s; functions only read secrets", a)
					}
				}
				if !slices.Contains(st.Actions, "secretsmanager:GetSecretValue") {
					continue
				}
				for _, r := range st.Resources {
					param, ok := strings.CutPrefix(r, "!Ref ")
					if !ok {
						t.Errorf("it is granted secretsmanager:GetSecretValue on %s, not on a secret parameter", r)
					}
					granted[param] = true
				}
			}
			for _, p := range slices.Sorted(maps.Keys(secrets)) {
				if !granted[p] {
					t.Errorf("its code reads the secret %s, which it is not granted secretsmanager:GetSecretValue on", p)
				}
			}
			for _, p := range slices.Sorted(maps.Keys(granted)) {
				if !secrets[p] {
					t.Errorf("it is granted secretsmanager:GetSecretValue on %s, which its code never reads", p)
				}
			}
		})
	}
}
