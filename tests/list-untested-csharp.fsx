// Prints the C#-facing public surface as "assembly<TAB>Type<TAB>Member<TAB>kind" lines: every public constructor,
// method and property of the host (FunctionalNets.dll), and the members of the F# assemblies that are meant for C#
// (extension methods and members given a [<CompiledName>], which F# records as CompilationSourceNameAttribute).
// Used by list-untested-csharp.sh; the argument is the folder of the built test project.
open System
open System.IO
open System.Reflection

let folder = fsi.CommandLineArgs.[1]

let load name =
    Assembly.LoadFrom(Path.Combine(folder, name + ".dll"))

let flags =
    BindingFlags.Public
    ||| BindingFlags.Instance
    ||| BindingFlags.Static
    ||| BindingFlags.DeclaredOnly

let hasAttr (name: string) (m: MemberInfo) =
    m.CustomAttributes |> Seq.exists (fun a -> a.AttributeType.Name = name)

// Members every object has or the compiler writes; a test names them without meaning to test them.
let inherited =
    set
        [
            "ToString"
            "Equals"
            "GetHashCode"
            "GetType"
            "Deconstruct"
            "<Clone>$"
            "PrintMembers"
            "EqualityContract"
        ]

let publicTypes (a: Assembly) =
    a.GetExportedTypes()
    |> Array.filter (fun t -> not t.IsEnum && not (hasAttr "CompilerGeneratedAttribute" t))

let hostMembers (t: Type) =
    [
        for c in t.GetConstructors(flags) do
            if not t.IsAbstract || not t.IsSealed then
                yield t.Name, "ctor"
        for m in t.GetMethods(flags) do
            if not m.IsSpecialName && not (inherited.Contains m.Name) then
                yield m.Name, (if m.IsStatic then "static-method" else "method")
        for p in t.GetProperties(flags) do
            if not (inherited.Contains p.Name) then
                yield
                    p.Name,
                    (if p.GetIndexParameters().Length > 0 then
                         "indexer"
                     elif p.GetMethod <> null && p.GetMethod.IsStatic then
                         "static-property"
                     else
                         "property")
    ]

// The host's static factories by name and parameter names: an F# member with both the same (Nn's
// [<CompiledName("Conv2d")>] behind Layers.Conv2d) is what the host wraps, so C# reaches it through the host.
let signature (m: MethodInfo) =
    m.Name, (m.GetParameters() |> Array.map (fun p -> p.Name) |> String.concat ",")

let hostStatics =
    set
        [
            for t in publicTypes (load "FunctionalNets") do
                for m in t.GetMethods(flags) do
                    if m.IsStatic && not m.IsSpecialName then
                        yield signature m
        ]

let fsharpMembers (t: Type) =
    [
        for m in t.GetMethods(flags) do
            if hasAttr "ExtensionAttribute" m || hasAttr "CompilationSourceNameAttribute" m then
                let kind =
                    if hasAttr "ExtensionAttribute" m then "extension"
                    elif m.IsStatic then "static-method"
                    else "method"

                yield
                    m.Name,
                    (if hostStatics.Contains(signature m) then
                         kind + "-wrapped"
                     else
                         kind)
    ]

let print asm members =
    for (t: Type) in publicTypes (load asm) do
        for (name, kind) in members t |> List.distinct do
            printfn "%s\t%s\t%s\t%s" asm (t.FullName.Replace('+', '.')) name kind

print "FunctionalNets" hostMembers

for asm in
    [
        "FunctionalNets.Core"
        "FunctionalNets.Nn"
        "FunctionalNets.Data"
        "FunctionalNets.Plots"
    ] do
    print asm fsharpMembers
