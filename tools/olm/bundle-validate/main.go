// Command bundle-validate checks an OLM bundle directory with operator-framework's own
// validation code, the checks `operator-sdk bundle validate DIR
// --select-optional suite=operatorframework` runs:
//
//   - the bundle format (metadata/annotations.yaml, media type, dependencies) and, for every
//     manifest file, the first YAML document as operator-registry's loader reads it;
//   - the bundle, its ClusterServiceVersion and its CRDs (operator-framework/api);
//   - the optional suite=operatorframework validators: operatorhubv2, capabilities,
//     categories, alpha-deprecated-apis, good-practices.
//
// It prints one line per finding ("ERROR ..." or "WARN ...") and exits 1 when there is an
// error, or a warning not passed with -allow-warning (a substring of the finding's text).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apimanifests "github.com/operator-framework/api/pkg/manifests"
	apivalidation "github.com/operator-framework/api/pkg/validation"
	apierrors "github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	registrybundle "github.com/operator-framework/operator-registry/pkg/lib/bundle"
	"github.com/sirupsen/logrus"
	k8svalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// suite is operator-sdk's `suite=operatorframework` selection of optional validators.
var suite = []interfaces.Validator{
	apivalidation.OperatorHubV2Validator,
	apivalidation.StandardCapabilitiesValidator,
	apivalidation.StandardCategoriesValidator,
	apivalidation.AlphaDeprecatedAPIsValidator,
	apivalidation.GoodPracticesValidator,
}

type allowList []string

func (a *allowList) String() string     { return strings.Join(*a, ",") }
func (a *allowList) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	var allowed allowList
	var k8sVersion string
	flag.Var(&allowed, "allow-warning", "a warning containing this text does not fail (repeatable)")
	flag.StringVar(&k8sVersion, "k8s-version", "", "Kubernetes version for alpha-deprecated-apis (e.g. 1.33)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bundle-validate [-allow-warning TEXT]... [-k8s-version X.Y] BUNDLE_DIR")
		os.Exit(2)
	}
	errs, warns := validate(flag.Arg(0), k8sVersion)
	failed := len(errs) > 0
	for _, e := range errs {
		fmt.Println("ERROR " + e)
	}
	for _, w := range warns {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(w, a)
		}
		if ok {
			fmt.Println("WARN (allowed) " + w)
		} else {
			fmt.Println("WARN " + w)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Printf("bundle %s: valid (%d allowed warnings)\n", flag.Arg(0), len(warns))
}

func validate(dir, k8sVersion string) (errs, warns []string) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	entry := logrus.NewEntry(logger)
	manifestsDir := filepath.Join(dir, registrybundle.ManifestsDir)

	// operator-registry: the format, then each file as its loader decodes it.
	format := registrybundle.NewImageValidator(nil, entry)
	if err := format.ValidateBundleFormat(dir); err != nil {
		errs = append(errs, "format: "+err.Error())
	}
	if err := format.ValidateBundleContent(manifestsDir); err != nil {
		errs = append(errs, "content: "+err.Error())
	}
	mediaType, err := registrybundle.GetMediaType(manifestsDir)
	if err != nil {
		return append(errs, "media type: "+err.Error()), warns
	}
	bundle, err := apimanifests.GetBundleFromDir(manifestsDir)
	if err != nil {
		return append(errs, "load: "+err.Error()), warns
	}

	var results []apierrors.ManifestResult
	for _, u := range bundle.Objects {
		kind := u.GetObjectKind().GroupVersionKind().Kind
		if kind == "ClusterServiceVersion" || kind == "CustomResourceDefinition" {
			continue
		}
		if ok, _ := registrybundle.IsSupported(kind); mediaType == registrybundle.RegistryV1Type && !ok {
			errs = append(errs, fmt.Sprintf("%s %q: not a registry+v1 bundle kind", kind, u.GetName()))
			continue
		}
		noPrefix := func(string, bool) []string { return nil }
		if fe := k8svalidation.ValidateObjectMetaAccessor(metav1.Object(u), false, noPrefix, field.NewPath("metadata")); len(fe) > 0 {
			errs = append(errs, fmt.Sprintf("%s %q: %s", kind, u.GetName(), fe.ToAggregate()))
		}
	}
	results = append(results, apivalidation.BundleValidator.Validate(bundle)...)
	if bundle.CSV == nil {
		errs = append(errs, "no ClusterServiceVersion in bundle")
	} else {
		results = append(results, apivalidation.ClusterServiceVersionValidator.Validate(bundle.CSV)...)
	}
	var crds []interface{}
	for _, crd := range bundle.V1CRDs {
		crds = append(crds, crd)
	}
	if len(crds) == 0 {
		errs = append(errs, "no apiextensions.k8s.io/v1 CRD in bundle")
	} else {
		results = append(results, apivalidation.CustomResourceDefinitionValidator.Validate(crds...)...)
	}

	objs := bundle.ObjectsToValidate()
	for _, obj := range bundle.Objects {
		objs = append(objs, obj)
	}
	optional := map[string]string{}
	if k8sVersion != "" {
		optional["k8s-version"] = k8sVersion
	}
	objs = append(objs, optional)
	for _, v := range suite {
		results = append(results, v.Validate(objs...)...)
	}

	for _, r := range results {
		for _, e := range r.Errors {
			errs = append(errs, fmt.Sprintf("%s: %s", r.Name, e.Error()))
		}
		for _, w := range r.Warnings {
			warns = append(warns, fmt.Sprintf("%s: %s", r.Name, w.Error()))
		}
	}
	sort.Strings(errs)
	sort.Strings(warns)
	return unique(errs), unique(warns)
}

func unique(xs []string) []string {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
