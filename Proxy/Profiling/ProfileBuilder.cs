using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using SrsProxy.Profiling.Pprof;
using PprofValueType = SrsProxy.Profiling.Pprof.ValueType;

namespace SrsProxy.Profiling;

/// <summary>
/// Builds one profile in pprof's <c>profile.proto</c> format: interns strings (index 0 is always ""),
/// functions and locations (ids from 1), and sums samples with the same stack and labels. Every sample
/// carries exactly one value per sample type, or it is refused.
/// </summary>
internal sealed class ProfileBuilder
{
    /// <summary>Id of the one mapping: the proxy process itself. pprof reads has_functions as "already symbolised".</summary>
    private const ulong MainMappingId = 1;

    private readonly Profile _profile = new();
    private readonly Dictionary<string, long> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, string SystemName, string File), ulong> _functions = [];
    private readonly Dictionary<ulong, ulong> _locationsByAddress = [];
    private readonly Dictionary<(ulong Function, long Line), ulong> _locationsByLine = [];
    private readonly Dictionary<string, Sample> _samples = new(StringComparer.Ordinal);
    private readonly Mapping _mapping;
    private ulong _maxAddress;

    public ProfileBuilder(IReadOnlyList<(string Type, string Unit)> sampleTypes, string mainBinary)
    {
        if (sampleTypes.Count == 0)
        {
            throw new ArgumentException("a profile needs at least one sample type", nameof(sampleTypes));
        }

        Intern("");
        foreach (var (type, unit) in sampleTypes)
        {
            _profile.SampleType.Add(new PprofValueType { Type = Intern(type), Unit = Intern(unit) });
        }

        _mapping = new Mapping
        {
            Id = MainMappingId,
            Filename = Intern(mainBinary),
            HasFunctions = true,
            HasFilenames = true,
            HasLineNumbers = true,
        };
        _profile.Mapping.Add(_mapping);
    }

    public int ValueCount => _profile.SampleType.Count;

    public DateTimeOffset Time
    {
        set => _profile.TimeNanos = (value.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;
    }

    public TimeSpan Duration
    {
        set => _profile.DurationNanos = value.Ticks * 100;
    }

    public void SetPeriod(string type, string unit, long period)
    {
        _profile.PeriodType = new PprofValueType { Type = Intern(type), Unit = Intern(unit) };
        _profile.Period = period;
    }

    /// <summary>The sample type pprof shows unless told otherwise (<c>-sample_index</c>).</summary>
    public void SetDefaultSampleType(string type) => _profile.DefaultSampleType = Intern(type);

    /// <summary>Free text, shown by <c>go tool pprof -comments</c>.</summary>
    public void AddComment(string text) => _profile.Comment.Add(Intern(text));

    public long Intern(string text)
    {
        if (!_strings.TryGetValue(text, out var index))
        {
            index = _profile.StringTable.Count;
            _profile.StringTable.Add(text);
            _strings.Add(text, index);
        }

        return index;
    }

    public ulong AddFunction(string name, string systemName, string file)
    {
        var key = (name, systemName, file);
        if (!_functions.TryGetValue(key, out var id))
        {
            id = (ulong)_profile.Function.Count + 1;
            _profile.Function.Add(new Function { Id = id, Name = Intern(name), SystemName = Intern(systemName), Filename = Intern(file) });
            _functions.Add(key, id);
        }

        return id;
    }

    /// <summary>
    /// The location of a frame. Frames with a code address share a location per address (one address is one
    /// method and line); frames without one share a location per function and line.
    /// </summary>
    public ulong AddLocation(StackFrameInfo frame)
    {
        if (frame.Address != 0 && _locationsByAddress.TryGetValue(frame.Address, out var known))
        {
            return known;
        }

        var function = AddFunction(frame.Function, frame.SystemName, frame.File);
        if (frame.Address == 0 && _locationsByLine.TryGetValue((function, frame.Line), out known))
        {
            return known;
        }

        var id = (ulong)_profile.Location.Count + 1;
        var location = new Location { Id = id, MappingId = MainMappingId, Address = frame.Address };
        location.Line.Add(new Line { FunctionId = function, Line_ = frame.Line });
        _profile.Location.Add(location);
        if (frame.Address != 0)
        {
            _locationsByAddress.Add(frame.Address, id);
            _maxAddress = Math.Max(_maxAddress, frame.Address);
        }
        else
        {
            _locationsByLine.Add((function, frame.Line), id);
        }

        return id;
    }

    /// <summary>Adds a sample, leaf frame first; one with the same stack and labels already there is summed into.</summary>
    public void AddSample(IReadOnlyList<StackFrameInfo> stack, ReadOnlySpan<long> values, params ReadOnlySpan<ProfileLabel> labels)
    {
        Span<ulong> ids = stack.Count <= 256 ? stackalloc ulong[stack.Count] : new ulong[stack.Count];
        for (var i = 0; i < stack.Count; i++)
        {
            ids[i] = AddLocation(stack[i]);
        }

        AddSample(ids, values, labels);
    }

    public void AddSample(ReadOnlySpan<ulong> locationIds, ReadOnlySpan<long> values, params ReadOnlySpan<ProfileLabel> labels)
    {
        if (values.Length != ValueCount)
        {
            throw new ArgumentException($"a sample needs {ValueCount} values, one per sample type; got {values.Length}", nameof(values));
        }

        foreach (var id in locationIds)
        {
            if (id == 0 || id > (ulong)_profile.Location.Count)
            {
                throw new ArgumentException($"location id {id} is not in this profile", nameof(locationIds));
            }
        }

        var key = SampleKey(locationIds, labels);
        if (_samples.TryGetValue(key, out var sample))
        {
            for (var i = 0; i < values.Length; i++)
            {
                sample.Value[i] += values[i];
            }

            return;
        }

        sample = new Sample();
        foreach (var id in locationIds)
        {
            sample.LocationId.Add(id);
        }

        foreach (var value in values)
        {
            sample.Value.Add(value);
        }

        foreach (var label in labels)
        {
            sample.Label.Add(label.Text is { } text
                ? new Label { Key = Intern(label.Key), Str = Intern(text) }
                : new Label { Key = Intern(label.Key), Num = label.Number, NumUnit = label.Unit is { } unit ? Intern(unit) : 0 });
        }

        _samples.Add(key, sample);
        _profile.Sample.Add(sample);
    }

    private static string SampleKey(ReadOnlySpan<ulong> locationIds, ReadOnlySpan<ProfileLabel> labels)
    {
        var key = new StringBuilder(locationIds.Length * 4);
        foreach (var id in locationIds)
        {
            key.Append(id).Append(',');
        }

        foreach (var label in labels)
        {
            key.Append('|').Append(label.Key).Append('=').Append(label.Text).Append('#').Append(label.Number).Append(label.Unit);
        }

        return key.ToString();
    }

    public Profile Build()
    {
        _mapping.MemoryLimit = _maxAddress + 1;
        return _profile;
    }

    /// <summary>The profile as pprof stores it: serialised, then gzip'd.</summary>
    public byte[] ToGzip()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            Build().WriteTo(gzip);
        }

        return buffer.ToArray();
    }
}
